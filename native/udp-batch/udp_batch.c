// Batched UDP I/O for the tracker (Linux): one recvmmsg/sendmmsg per batch of datagrams instead of node's dgram,
// which costs ~15 µs of CPU per datagram here (a callback, an rinfo object, a send request and a syscall each).
// The socket is polled on the calling thread's libuv loop; when it is readable, up to `max` datagrams are read into
// one caller-owned buffer (fixed slots) with their lengths and source addresses in a second buffer, and JavaScript
// is called once with the count. Replies go back the same way: one buffer, one table of (offset, length, address).
//
// Table record (META bytes each), shared with src/tracker/udp-batch.ts:
//   0 u32 offset of the datagram in the data buffer (little endian)   4 u32 length (0xffffffff: truncated)
//   8 u16 port (network order)   10 u8 family (4 or 6)   12..27 address (IPv4 in the first 4 bytes)

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define META 32
#define MAX_BATCH 1024
#define SEND_CHUNK 128

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "udp_batch: N-API call failed");    \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int active;
  uint8_t *data;
  size_t data_len;
  uint8_t *meta;
  size_t meta_len;
  uint32_t slot;
  uint32_t max;
  napi_ref data_ref, meta_ref, cb_ref, resource_ref;
  napi_async_context actx;
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in6 addrs[MAX_BATCH];
} poller_t;

static napi_value throw_errno(napi_env env, int err, const char *what) {
  napi_value code, msg, error;
  char text[160];
  const char *name = uv_err_name(-err);
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  void *p;
  if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
  *data = p;
  return 1;
}

// open(host, port, rcvbuf) -> [fd, boundPort]. IPv6 sockets are IPv6-only, as the dgram listeners are.
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hl;
  int32_t port, rcvbuf;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &rcvbuf));
  struct sockaddr_in6 sa6;
  struct sockaddr_in sa4;
  memset(&sa6, 0, sizeof sa6);
  memset(&sa4, 0, sizeof sa4);
  int v6;
  if (inet_pton(AF_INET, host, &sa4.sin_addr) == 1) {
    v6 = 0;
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &sa6.sin6_addr) == 1) {
    v6 = 1;
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)port);
  } else {
    return throw_errno(env, EINVAL, "not an IP address");
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1;
  if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int r = v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof sa6) : bind(fd, (struct sockaddr *)&sa4, sizeof sa4);
  if (r < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  struct sockaddr_in6 got;
  socklen_t gl = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &gl);
  int bound = ntohs(v6 ? got.sin6_port : ((struct sockaddr_in *)&got)->sin_port);
  napi_value out, a, b;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, fd, &a));
  CHECK(napi_create_int32(env, bound, &b));
  CHECK(napi_set_element(env, out, 0, a));
  CHECK(napi_set_element(env, out, 1, b));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  close(fd);
  return NULL;
}

static void poller_free(uv_handle_t *h) {
  poller_t *p = h->data;
  free(p);
}

static void poller_release(poller_t *p) {
  if (!p->active) return;
  p->active = 0;
  uv_poll_stop(&p->poll);
  napi_delete_reference(p->env, p->data_ref);
  napi_delete_reference(p->env, p->meta_ref);
  napi_delete_reference(p->env, p->cb_ref);
  napi_delete_reference(p->env, p->resource_ref);
  napi_async_destroy(p->env, p->actx);
  uv_close((uv_handle_t *)&p->poll, poller_free);
}

static void cleanup_hook(void *arg) {
  poller_release(arg);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (!p->active || status < 0) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  // A few batches per wake-up at most, so that a flood cannot starve the rest of the loop.
  for (int round = 0; round < 4 && p->active; round++) {
    for (uint32_t i = 0; i < p->max; i++) {
      p->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
      p->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(p->fd, p->msgs, p->max, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      uint8_t *m = p->meta + (size_t)i * META;
      uint32_t off = (uint32_t)i * p->slot;
      uint32_t len = (p->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0xffffffffu : p->msgs[i].msg_len;
      memcpy(m, &off, 4);
      memcpy(m + 4, &len, 4);
      struct sockaddr *sa = (struct sockaddr *)&p->addrs[i];
      if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        memcpy(m + 8, &s4->sin_port, 2);
        m[10] = 4;
        memcpy(m + 12, &s4->sin_addr, 4);
      } else {
        memcpy(m + 8, &p->addrs[i].sin6_port, 2);
        m[10] = 6;
        memcpy(m + 12, &p->addrs[i].sin6_addr, 16);
      }
    }
    napi_value cb, recv, arg, result;
    napi_get_reference_value(env, p->cb_ref, &cb);
    napi_get_reference_value(env, p->resource_ref, &recv);
    napi_create_uint32(env, (uint32_t)n, &arg);
    napi_callback_scope cscope;
    napi_open_callback_scope(env, recv, p->actx, &cscope);
    napi_status st = napi_call_function(env, recv, cb, 1, &arg, &result);
    napi_close_callback_scope(env, cscope);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
      break;
    }
    if ((uint32_t)n < p->max) break;
  }
  napi_close_handle_scope(env, scope);
}

// poll(fd, data, meta, slot, callback) -> handle. Calls callback(n) each time n datagrams were read into data.
static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], thisv;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &thisv, NULL));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, ENOMEM, "poll");
  p->env = env;
  uint32_t slot;
  CHECK(napi_get_value_int32(env, argv[0], &p->fd));
  if (!get_buffer(env, argv[1], &p->data, &p->data_len) || !get_buffer(env, argv[2], &p->meta, &p->meta_len) ||
      napi_get_value_uint32(env, argv[3], &slot) != napi_ok || slot == 0) {
    free(p);
    napi_throw_type_error(env, NULL, "poll(fd, data, meta, slot, callback)");
    return NULL;
  }
  p->slot = slot;
  size_t max = p->data_len / slot;
  if (p->meta_len / META < max) max = p->meta_len / META;
  if (max > MAX_BATCH) max = MAX_BATCH;
  if (max == 0) {
    free(p);
    napi_throw_range_error(env, NULL, "poll: buffers too small");
    return NULL;
  }
  p->max = (uint32_t)max;
  for (uint32_t i = 0; i < p->max; i++) {
    p->iov[i].iov_base = p->data + (size_t)i * slot;
    p->iov[i].iov_len = slot;
    p->msgs[i].msg_hdr.msg_iov = &p->iov[i];
    p->msgs[i].msg_hdr.msg_iovlen = 1;
    p->msgs[i].msg_hdr.msg_name = &p->addrs[i];
  }
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "UdpBatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &p->actx));
  CHECK(napi_create_reference(env, argv[1], 1, &p->data_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &p->meta_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &p->cb_ref));
  CHECK(napi_create_reference(env, resource, 1, &p->resource_ref));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int r = uv_poll_init(loop, &p->poll, p->fd);
  if (r < 0) {
    free(p);
    return throw_errno(env, -r, "uv_poll_init");
  }
  p->poll.data = p;
  p->active = 1;
  uv_poll_start(&p->poll, UV_READABLE, on_readable);
  napi_add_env_cleanup_hook(env, cleanup_hook, p);
  napi_value ext;
  CHECK(napi_create_external(env, p, NULL, NULL, &ext));
  return ext;
}

// unpoll(handle): stops reading; the handle is freed once libuv has closed it.
static napi_value js_unpoll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], &p));
  if (((poller_t *)p)->active) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, p);
    poller_release(p);
  }
  return NULL;
}

// Sends n datagrams described by meta (offsets into data) with sendmmsg, SEND_CHUNK at a time. A full socket buffer
// drops the rest, as a lost datagram would be: UDP tracker clients retry. Returns the datagrams handed to the kernel.
static uint32_t send_batch(int fd, uint8_t *data, size_t data_len, const uint8_t *meta, uint32_t n) {
  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK];
  struct sockaddr_in6 addrs[SEND_CHUNK];
  uint32_t sent = 0;
  for (uint32_t base = 0; base < n;) {
    uint32_t k = 0;
    for (; k < SEND_CHUNK && base + k < n; k++) {
      const uint8_t *m = meta + (size_t)(base + k) * META;
      uint32_t off, len;
      memcpy(&off, m, 4);
      memcpy(&len, m + 4, 4);
      if ((size_t)off + len > data_len) len = 0, off = 0;
      iov[k].iov_base = data + off;
      iov[k].iov_len = len;
      memset(&addrs[k], 0, sizeof addrs[k]);
      socklen_t al;
      if (m[10] == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&addrs[k];
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_port, m + 8, 2);
        memcpy(&s4->sin_addr, m + 12, 4);
        al = sizeof *s4;
      } else {
        addrs[k].sin6_family = AF_INET6;
        memcpy(&addrs[k].sin6_port, m + 8, 2);
        memcpy(&addrs[k].sin6_addr, m + 12, 16);
        al = sizeof addrs[k];
      }
      memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
      msgs[k].msg_hdr.msg_name = &addrs[k];
      msgs[k].msg_hdr.msg_namelen = al;
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, k, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: the socket buffer is full; anything else (an unreachable address): skip that datagram.
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      base += 1;
      continue;
    }
    sent += (uint32_t)r;
    base += (uint32_t)r;
  }
  return sent;
}

// send(fd, data, meta, n) -> datagrams handed to the kernel, on the calling thread.
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd;
  uint32_t n;
  uint8_t *data, *meta;
  size_t data_len, meta_len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (!get_buffer(env, argv[1], &data, &data_len) || !get_buffer(env, argv[2], &meta, &meta_len) ||
      napi_get_value_uint32(env, argv[3], &n) != napi_ok || (size_t)n * META > meta_len) {
    napi_throw_type_error(env, NULL, "send(fd, data, meta, n)");
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_uint32(env, send_batch(fd, data, data_len, meta, n), &out));
  return out;
}

// A sender thread per socket: sendmmsg is the largest single cost of a UDP announce here (the kernel delivers each
// datagram on the way out), so the JavaScript thread only copies a batch of replies into a queue and wakes this
// thread, which makes the system calls on the other core. Replies stay in order; a queue over SENDER_MAX_BYTES
// drops the batch, as a full socket buffer would.
#define SENDER_MAX_BYTES (16u << 20)

typedef struct chunk {
  struct chunk *next;
  uint32_t n;
  size_t data_len;
  uint8_t *meta; // n * META bytes, then data_len bytes of data, in this allocation
} chunk_t;

typedef struct {
  int fd;
  int stop;
  int joined;
  napi_env env;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  chunk_t *head, *tail;
  size_t queued;
} sender_t;

static void *sender_main(void *arg) {
  sender_t *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->head && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    if (!s->head) break; // stopped, and everything queued was sent
    chunk_t *c = s->head;
    s->head = s->tail = NULL;
    s->queued = 0;
    pthread_mutex_unlock(&s->mu);
    while (c) {
      chunk_t *next = c->next;
      send_batch(s->fd, c->meta + (size_t)c->n * META, c->data_len, c->meta, c->n);
      free(c);
      c = next;
    }
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

// Sends what is queued, ends the thread and frees the sender (its handle must not be used afterwards).
static void sender_stop(sender_t *s) {
  if (s->joined) return;
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->th, NULL);
  s->joined = 1;
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
}

static void sender_cleanup_hook(void *arg) {
  sender_stop(arg);
}

static void sender_finalize(napi_env env, void *data, void *hint) {
  sender_t *s = data;
  if (!s->joined) {
    napi_remove_env_cleanup_hook(env, sender_cleanup_hook, s);
    sender_stop(s);
  }
  free(s);
}

// sender(fd) -> handle: starts the sender thread for this socket.
static napi_value js_sender(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  sender_t *s = calloc(1, sizeof *s);
  if (!s) return throw_errno(env, ENOMEM, "sender");
  s->fd = fd;
  s->env = env;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  int r = pthread_create(&s->th, NULL, sender_main, s);
  if (r != 0) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    return throw_errno(env, r, "pthread_create");
  }
  pthread_setname_np(s->th, "bt-udp-send"); // for top -H and /proc/PID/task/*/comm
  napi_add_env_cleanup_hook(env, sender_cleanup_hook, s);
  napi_value ext;
  CHECK(napi_create_external(env, s, sender_finalize, NULL, &ext));
  return ext;
}

// sendQueued(handle, data, used, meta, n) -> n, or 0 when the queue was full and the batch dropped.
static napi_value js_send_queued(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *h;
  uint8_t *data, *meta;
  size_t data_len, meta_len;
  uint32_t used, n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || napi_get_value_external(env, argv[0], &h) != napi_ok || !get_buffer(env, argv[1], &data, &data_len) ||
      napi_get_value_uint32(env, argv[2], &used) != napi_ok || used > data_len ||
      !get_buffer(env, argv[3], &meta, &meta_len) || napi_get_value_uint32(env, argv[4], &n) != napi_ok ||
      (size_t)n * META > meta_len) {
    napi_throw_type_error(env, NULL, "sendQueued(handle, data, used, meta, n)");
    return NULL;
  }
  sender_t *s = h;
  uint32_t queued = 0;
  if (n > 0 && !s->joined) {
    size_t mlen = (size_t)n * META;
    chunk_t *c = malloc(sizeof *c + mlen + used);
    if (c) {
      c->next = NULL;
      c->n = n;
      c->data_len = used;
      c->meta = (uint8_t *)(c + 1);
      memcpy(c->meta, meta, mlen);
      memcpy(c->meta + mlen, data, used);
      pthread_mutex_lock(&s->mu);
      if (s->queued + mlen + used > SENDER_MAX_BYTES) {
        free(c);
      } else {
        if (s->tail) s->tail->next = c;
        else s->head = c;
        s->tail = c;
        s->queued += mlen + used;
        queued = n;
        pthread_cond_signal(&s->cv);
      }
      pthread_mutex_unlock(&s->mu);
    }
  }
  napi_value out;
  CHECK(napi_create_uint32(env, queued, &out));
  return out;
}

// senderStop(handle): sends what is queued and ends the thread (before the socket is closed).
static napi_value js_sender_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *h;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], &h));
  sender_t *s = h;
  if (!s->joined) {
    napi_remove_env_cleanup_hook(env, sender_cleanup_hook, s);
    sender_stop(s);
  }
  return NULL;
}

// ntop(meta, record) -> the source address of one record as text (for addresses not yet in the caller's cache).
static napi_value js_ntop(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *meta;
  size_t meta_len;
  uint32_t i;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_buffer(env, argv[0], &meta, &meta_len) || napi_get_value_uint32(env, argv[1], &i) != napi_ok ||
      ((size_t)i + 1) * META > meta_len) {
    napi_throw_type_error(env, NULL, "ntop(meta, record)");
    return NULL;
  }
  const uint8_t *m = meta + (size_t)i * META;
  char text[INET6_ADDRSTRLEN];
  inet_ntop(m[10] == 4 ? AF_INET : AF_INET6, m + 12, text, sizeof text);
  napi_value out;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_default, NULL},
      {"unpoll", NULL, js_unpoll, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"ntop", NULL, js_ntop, NULL, NULL, NULL, napi_default, NULL},
      {"sender", NULL, js_sender, NULL, NULL, NULL, napi_default, NULL},
      {"sendQueued", NULL, js_send_queued, NULL, NULL, NULL, napi_default, NULL},
      {"senderStop", NULL, js_sender_stop, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

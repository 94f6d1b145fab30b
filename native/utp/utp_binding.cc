// uTP (BEP 29) for bt: libutp (vendored in libutp/) driven from Node's libuv loop, replacing the utp-native binding.
// One endpoint = one UDP socket (IPv4, IPv6, or dual stack on "::") + one utp_context. Why our own:
//  - addresses are sockaddr_storage throughout, so uTP works over IPv6 (utp-native hard-codes sockaddr_in);
//  - libtorrent sends its FIN with a "close reason" extension (type 3) that libutp's version check takes for a non-uTP
//    packet; we strip unknown extensions before libutp sees the packet, so a closing peer's FIN ends the connection;
//  - no fixed timer: JavaScript calls checkTimeouts() every 500 ms only while connections exist, and once per batch
//    of datagrams we call it here (libutp skips it when less than 500 ms passed);
//  - datagrams are read in batches (recvmmsg, until EAGAIN or a few rounds), and everything libutp reports (data,
//    state changes, non-uTP datagrams) is appended to one event table plus one data buffer that JavaScript owns and
//    reuses, then JavaScript is called once per batch. Consecutive reads of one connection merge into one chunk;
//  - the packets libutp sends during one read batch or one call from JavaScript leave with one sendmmsg.
//
// Event table (Int32 view in JavaScript; header then RECORD u32 per record):
//   [0] records  [1] data bytes used  [2..3] reserved
//   record: type, id, a, b
//     EV_ACCEPT  id                (incoming connection, reported with its first data as utp-native did: libutp
//                                   accepts writes only once the initiator's first data packet arrived)
//     EV_CONNECT id                (outgoing connection established)
//     EV_WRITABLE id
//     EV_EOF     id                (the peer's FIN, after all its data)
//     EV_ERROR   id, a=libutp code (0 refused, 1 reset, 2 timed out)
//     EV_GONE    id                (libutp freed the connection)
//     EV_READ    id, a=length      (bytes at the running data offset)
//     EV_MESSAGE a=length, b=port | family<<16   (16 address bytes then the datagram at the running data offset)

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "libutp/utp.h"

#define RECORD 4
#define HEADER 4
#define BATCH 64
#define SLOT 2048   // bytes per outgoing packet (libutp's packets stay below 1500)
#define RSLOT 4096  // bytes per incoming datagram (uTP packets, and DHT messages sharing the port); larger: dropped
#define ROUNDS 16
#define MAX_CONNS 65536

enum { EV_ACCEPT = 1, EV_CONNECT, EV_WRITABLE, EV_EOF, EV_ERROR, EV_GONE, EV_READ, EV_MESSAGE };

typedef struct conn {
  uint32_t id;
  utp_socket *sock;
  int announced;  // incoming: JavaScript was told (EV_ACCEPT)
  int paused;     // JavaScript's stream is full: advertise a closed receive window
  int detached;   // JavaScript closed it; libutp still winds it down
  int ended;      // our FIN is queued
} conn_t;

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int family;  // AF_INET or AF_INET6 (dual stack unless bound to a specific IPv6 address)
  int active;  // polling; cleared on close
  int closing;
  int in_delivery;
  utp_context *ctx;
  uint8_t *data;
  size_t data_len;
  int32_t *meta;
  size_t meta_records;
  napi_ref data_ref, meta_ref, cb_ref, resource_ref;
  napi_async_context actx;
  conn_t **slots;
  uint32_t nslots;
  uint32_t next_slot;
  uint32_t generation;
  uint32_t live;  // conns not yet freed by libutp
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage addrs[BATCH];
  uint8_t bufs[BATCH][RSLOT];
  // Packets libutp sent during one call from JavaScript or one read batch, handed to the kernel with one sendmmsg.
  uint32_t nout;
  struct mmsghdr out_msgs[BATCH];
  struct iovec out_iov[BATCH];
  struct sockaddr_in6 out_addrs[BATCH];
  uint8_t out_bufs[BATCH][SLOT];
} endpoint_t;

#define CHECK(call)                                               \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error(env, NULL, "utp: N-API call failed");      \
      return NULL;                                                \
    }                                                             \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  napi_value code, msg, error;
  char text[200];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

// ---- the event table ----

static void deliver(endpoint_t *ep);

// Room for one more record and `bytes` of data; hands the table to JavaScript first when full.
static int reserve(endpoint_t *ep, size_t bytes) {
  if ((size_t)ep->meta[0] < ep->meta_records && (size_t)ep->meta[1] + bytes <= ep->data_len) return 1;
  deliver(ep);
  return (size_t)ep->meta[0] < ep->meta_records && (size_t)ep->meta[1] + bytes <= ep->data_len;
}

static void push_event(endpoint_t *ep, int type, uint32_t id, int32_t a, int32_t b) {
  if (ep->closing || !reserve(ep, 0)) return;
  int32_t *r = ep->meta + HEADER + (size_t)ep->meta[0] * RECORD;
  r[0] = type;
  r[1] = (int32_t)id;
  r[2] = a;
  r[3] = b;
  ep->meta[0]++;
}

// Calls JavaScript's onevents() when records are waiting (it reads them and resets the header).
static void deliver(endpoint_t *ep) {
  if (ep->meta[0] == 0 || !ep->active || ep->in_delivery) return;
  napi_env env = ep->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result;
  napi_get_reference_value(env, ep->cb_ref, &cb);
  napi_get_reference_value(env, ep->resource_ref, &recv);
  ep->in_delivery = 1;
  napi_callback_scope cscope;
  napi_open_callback_scope(env, recv, ep->actx, &cscope);
  napi_status st = napi_call_function(env, recv, cb, 0, NULL, &result);
  napi_close_callback_scope(env, cscope);
  ep->in_delivery = 0;
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

// ---- connections ----

static conn_t *conn_new(endpoint_t *ep, utp_socket *s) {
  if (ep->live >= MAX_CONNS - 1) return NULL;
  if (ep->live + 1 >= ep->nslots) {
    uint32_t n = ep->nslots ? ep->nslots * 2 : 64;
    if (n > MAX_CONNS) n = MAX_CONNS;
    conn_t **grown = (conn_t **)realloc(ep->slots, n * sizeof *grown);
    if (!grown) return NULL;
    memset(grown + ep->nslots, 0, (n - ep->nslots) * sizeof *grown);
    ep->slots = grown;
    ep->nslots = n;
  }
  uint32_t slot = ep->next_slot;
  while (ep->slots[slot % ep->nslots]) slot++;
  slot %= ep->nslots;
  ep->next_slot = slot + 1;
  conn_t *c = (conn_t *)calloc(1, sizeof *c);
  if (!c) return NULL;
  // id: slot in the low 16 bits, a generation above, so a stale id never names a newer connection.
  ep->generation = (ep->generation + 1) & 0x7fff;
  c->id = ((ep->generation + 1) << 16) | slot;
  c->sock = s;
  ep->slots[slot] = c;
  ep->live++;
  utp_set_userdata(s, c);
  return c;
}

static conn_t *conn_get(endpoint_t *ep, uint32_t id) {
  uint32_t slot = id & 0xffff;
  if (slot >= ep->nslots) return NULL;
  conn_t *c = ep->slots[slot];
  return c && c->id == id ? c : NULL;
}

static void conn_free(endpoint_t *ep, conn_t *c) {
  ep->slots[c->id & 0xffff] = NULL;
  ep->live--;
  free(c);
}

static void announce(endpoint_t *ep, conn_t *c) {
  if (c->announced) return;
  c->announced = 1;
  push_event(ep, EV_ACCEPT, c->id, 0, 0);
}

// ---- libutp callbacks ----

// Sends the queued packets. A full socket buffer drops the rest, as lost packets: libutp retransmits.
static void flush_out(endpoint_t *ep) {
  uint32_t done = 0;
  while (done < ep->nout) {
    int r = sendmmsg(ep->fd, ep->out_msgs + done, ep->nout - done, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      done++;  // this packet's address is unreachable: skip it
      continue;
    }
    done += (uint32_t)r;
  }
  ep->nout = 0;
}

static uint64 on_sendto(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  const struct sockaddr *to = a->address;
  if (ep->closing || a->len > SLOT) {
    if (!ep->closing) sendto(ep->fd, a->buf, a->len, MSG_DONTWAIT, to, a->address_len);
    return 0;
  }
  if (ep->nout == BATCH) flush_out(ep);
  uint32_t i = ep->nout++;
  memcpy(ep->out_bufs[i], a->buf, a->len);
  ep->out_iov[i].iov_base = ep->out_bufs[i];
  ep->out_iov[i].iov_len = a->len;
  struct sockaddr_in6 *dst = &ep->out_addrs[i];
  socklen_t len = a->address_len;
  if (ep->family == AF_INET6 && to->sa_family == AF_INET) {
    // libutp hands IPv4 peers back as sockaddr_in; a dual-stack socket needs them as ::ffff:a.b.c.d.
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)to;
    memset(dst, 0, sizeof *dst);
    dst->sin6_family = AF_INET6;
    dst->sin6_port = s4->sin_port;
    dst->sin6_addr.s6_addr[10] = 0xff;
    dst->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&dst->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
    len = sizeof *dst;
  } else {
    if (len > sizeof *dst) len = sizeof *dst;
    memcpy(dst, to, len);
  }
  memset(&ep->out_msgs[i].msg_hdr, 0, sizeof ep->out_msgs[i].msg_hdr);
  ep->out_msgs[i].msg_hdr.msg_name = dst;
  ep->out_msgs[i].msg_hdr.msg_namelen = len;
  ep->out_msgs[i].msg_hdr.msg_iov = &ep->out_iov[i];
  ep->out_msgs[i].msg_hdr.msg_iovlen = 1;
  return 0;
}

static uint64 on_firewall(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  return ep->closing || ep->live >= MAX_CONNS - 2 ? 1 : 0;
}

static uint64 on_accept(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  if (!conn_new(ep, a->socket)) utp_close(a->socket);
  return 0;
}

static uint64 on_read(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  conn_t *c = (conn_t *)utp_get_userdata(a->socket);
  if (!c || c->detached || ep->closing) return 0;
  announce(ep, c);
  const uint8_t *p = (const uint8_t *)a->buf;
  size_t left = a->len;
  while (left > 0) {
    int32_t *last = ep->meta[0] ? ep->meta + HEADER + (size_t)(ep->meta[0] - 1) * RECORD : NULL;
    size_t room = ep->data_len - (size_t)ep->meta[1];
    if (room == 0 || !last || last[0] != EV_READ || (uint32_t)last[1] != c->id) {
      if (!reserve(ep, 1)) return 0;
      push_event(ep, EV_READ, c->id, 0, 0);
      last = ep->meta + HEADER + (size_t)(ep->meta[0] - 1) * RECORD;
      room = ep->data_len - (size_t)ep->meta[1];
    }
    size_t n = left < room ? left : room;
    memcpy(ep->data + ep->meta[1], p, n);
    ep->meta[1] += (int32_t)n;
    last[2] += (int32_t)n;
    p += n;
    left -= n;
  }
  utp_read_drained(a->socket);
  return 0;
}

static uint64 on_state(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  conn_t *c = (conn_t *)utp_get_userdata(a->socket);
  if (!c) return 0;
  switch (a->state) {
    case UTP_STATE_CONNECT:
      if (!c->detached) push_event(ep, EV_CONNECT, c->id, 0, 0);
      break;
    case UTP_STATE_WRITABLE:
      if (!c->detached && c->announced) push_event(ep, EV_WRITABLE, c->id, 0, 0);
      break;
    case UTP_STATE_EOF:
      if (!c->detached) {
        announce(ep, c);
        push_event(ep, EV_EOF, c->id, 0, 0);
      }
      break;
    case UTP_STATE_DESTROYING:
      if (!c->detached && c->announced) push_event(ep, EV_GONE, c->id, 0, 0);
      utp_set_userdata(a->socket, NULL);
      conn_free(ep, c);
      break;
  }
  return 0;
}

static uint64 on_error(utp_callback_arguments *a) {
  endpoint_t *ep = (endpoint_t *)utp_context_get_userdata(a->context);
  conn_t *c = (conn_t *)utp_get_userdata(a->socket);
  if (!c) return 0;
  // JavaScript answers with shut() (utp_close), which lets libutp free the socket. Closing here instead would trip
  // libutp when it already marked the socket for destruction before calling us.
  if (!c->detached && c->announced) push_event(ep, EV_ERROR, c->id, a->error_code, 0);
  return 0;
}

// The receive window libutp advertises is its buffer size minus what we report here: a full JavaScript stream
// reports everything as buffered, so the sender stops until the stream drains.
static uint64 on_read_buffer_size(utp_callback_arguments *a) {
  conn_t *c = (conn_t *)utp_get_userdata(a->socket);
  return c && c->paused ? 0x7fffffff : 0;
}

// ---- the UDP side ----

// libtorrent appends a "close reason" extension (type 3) to its FIN; libutp takes any packet whose first extension
// is >= 3 for a non-uTP packet and drops it, so the connection would linger until libutp's timeout. Rewrite the
// extension chain in place keeping only the types libutp knows (1 selective ack, 2 extension bits). Returns the new
// length (the same when nothing changed, 0 when the packet is malformed).
static size_t strip_extensions(uint8_t *p, size_t len) {
  if (len < 20 || (p[0] & 0x0f) != 1 || (p[0] >> 4) > 4 || p[1] == 0) return len;
  int changed = 0;
  size_t in = 20, out = 20;
  uint8_t type = p[1];
  uint8_t *prev_next = &p[1];
  while (type != 0) {
    if (in + 2 > len) return 0;
    uint8_t next = p[in], elen = p[in + 1];
    if (in + 2 + elen > len) return 0;
    if (type == 1 || type == 2) {
      *prev_next = type;
      if (out != in) memmove(p + out, p + in, 2 + (size_t)elen);
      prev_next = &p[out];
      out += 2 + (size_t)elen;
    } else {
      changed = 1;
    }
    in += 2 + (size_t)elen;
    type = next;
  }
  if (!changed) return len;
  *prev_next = 0;
  memmove(p + out, p + in, len - in);
  return out + (len - in);
}

static void on_datagram(endpoint_t *ep, uint8_t *buf, size_t len, struct sockaddr_storage *from) {
  socklen_t fl = from->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  size_t ulen = strip_extensions(buf, len);
  if (ulen && utp_process_udp(ep->ctx, buf, ulen, (struct sockaddr *)from, fl)) return;
  // Not uTP (a DHT message on the shared port): copy it out with its source address.
  if (ep->closing || !reserve(ep, 16 + len)) return;
  uint8_t *d = ep->data + ep->meta[1];
  memset(d, 0, 16);
  int family;
  uint16_t port;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)from;
  if (from->ss_family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)from;
    family = 4;
    port = ntohs(s4->sin_port);
    memcpy(d, &s4->sin_addr, 4);
  } else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
    family = 4;
    port = ntohs(s6->sin6_port);
    memcpy(d, &s6->sin6_addr.s6_addr[12], 4);
  } else {
    family = 6;
    port = ntohs(s6->sin6_port);
    memcpy(d, &s6->sin6_addr, 16);
  }
  memcpy(d + 16, buf, len);
  ep->meta[1] += (int32_t)(16 + len);
  push_event(ep, EV_MESSAGE, 0, (int32_t)len, (int32_t)(port | (family << 16)));
}

static void on_readable(uv_poll_t *h, int status, int events) {
  endpoint_t *ep = (endpoint_t *)h->data;
  (void)events;
  if (!ep->active || status < 0) return;
  // A bounded number of batches per wake-up, so that a flood cannot starve the rest of the loop.
  for (int round = 0; round < ROUNDS && ep->active; round++) {
    for (int i = 0; i < BATCH; i++) {
      ep->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      ep->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(ep->fd, ep->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    for (int i = 0; i < n && ep->active; i++) {
      if (ep->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      on_datagram(ep, ep->bufs[i], ep->msgs[i].msg_len, &ep->addrs[i]);
    }
    if (n < BATCH) break;
  }
  if (!ep->active) return;
  utp_issue_deferred_acks(ep->ctx);
  utp_check_timeouts(ep->ctx);
  flush_out(ep);
  deliver(ep);
}

// ---- JavaScript API ----

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

static endpoint_t *get_ep(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (endpoint_t *)p;
}

static int parse_addr(const char *host, int port, int sock_family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) {
    if (sock_family == AF_INET6) {  // dual stack: as a v4-mapped address
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons((uint16_t)port);
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
      *len = sizeof *s6;
    } else {
      struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
      s4->sin_family = AF_INET;
      s4->sin_port = htons((uint16_t)port);
      s4->sin_addr = a4;
      *len = sizeof *s4;
    }
    return 1;
  }
  if (inet_pton(AF_INET6, host, &a6) == 1 && sock_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_addr = a6;
    *len = sizeof *s6;
    return 1;
  }
  return 0;
}

static void ep_release(endpoint_t *ep);

static void cleanup_hook(void *arg) {
  ep_release((endpoint_t *)arg);
}

static void ep_free(uv_handle_t *h) {
  endpoint_t *ep = (endpoint_t *)h->data;
  free(ep->slots);
  free(ep);
}

// Stops polling, frees libutp's context (and every connection still in it), closes the socket.
static void ep_release(endpoint_t *ep) {
  if (!ep->active) return;
  flush_out(ep);  // FINs queued by the last calls
  ep->closing = 1;
  ep->active = 0;
  uv_poll_stop(&ep->poll);
  utp_destroy(ep->ctx);  // calls on_state(DESTROYING) for each socket: the conns are freed there
  for (uint32_t i = 0; i < ep->nslots; i++) free(ep->slots[i]), ep->slots[i] = NULL;
  close(ep->fd);
  napi_delete_reference(ep->env, ep->data_ref);
  napi_delete_reference(ep->env, ep->meta_ref);
  napi_delete_reference(ep->env, ep->cb_ref);
  napi_delete_reference(ep->env, ep->resource_ref);
  napi_async_destroy(ep->env, ep->actx);
  uv_close((uv_handle_t *)&ep->poll, ep_free);
}

// open(host, port, rcvbuf, sndbuf, data, meta, onevents) -> [handle, boundPort, family (4|6)].
// "::" binds dual stack (IPv4 peers appear as v4-mapped addresses inside; JavaScript sees plain IPv4).
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], thisv;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &thisv, NULL));
  char host[64];
  size_t hl;
  int32_t port, rcvbuf, sndbuf;
  void *data, *meta;
  size_t data_len, meta_len;
  if (argc < 7 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &rcvbuf) != napi_ok ||
      napi_get_value_int32(env, argv[3], &sndbuf) != napi_ok || !get_buffer(env, argv[4], &data, &data_len) ||
      !get_buffer(env, argv[5], &meta, &meta_len) || meta_len < (HEADER + RECORD) * 4 || data_len < 65536) {
    napi_throw_type_error(env, NULL, "open(host, port, rcvbuf, sndbuf, data, meta, onevents)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  int family = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (!parse_addr(host, port, family, &ss, &sl)) return throw_errno(env, EINVAL, "not an IP address");
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (family == AF_INET6) {
    // Only the unspecified address is dual stack; a specific IPv6 address speaks IPv6 only.
    int v6only = strcmp(host, "::") != 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  struct sockaddr_storage got;
  socklen_t gl = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &gl);
  int bound = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port : ((struct sockaddr_in *)&got)->sin_port);

  endpoint_t *ep = (endpoint_t *)calloc(1, sizeof *ep);
  if (!ep) {
    close(fd);
    return throw_errno(env, ENOMEM, "open");
  }
  ep->env = env;
  ep->fd = fd;
  ep->family = family;
  ep->data = (uint8_t *)data;
  ep->data_len = data_len;
  ep->meta = (int32_t *)meta;
  ep->meta_records = (meta_len / 4 - HEADER) / RECORD;
  ep->meta[0] = ep->meta[1] = 0;
  for (int i = 0; i < BATCH; i++) {
    ep->iov[i].iov_base = ep->bufs[i];
    ep->iov[i].iov_len = RSLOT;
    ep->msgs[i].msg_hdr.msg_iov = &ep->iov[i];
    ep->msgs[i].msg_hdr.msg_iovlen = 1;
    ep->msgs[i].msg_hdr.msg_name = &ep->addrs[i];
  }
  ep->ctx = utp_init(2);
  if (!ep->ctx) {
    close(fd);
    free(ep);
    return throw_errno(env, ENOMEM, "utp_init");
  }
  utp_context_set_userdata(ep->ctx, ep);
  utp_set_callback(ep->ctx, UTP_SENDTO, on_sendto);
  utp_set_callback(ep->ctx, UTP_ON_FIREWALL, on_firewall);
  utp_set_callback(ep->ctx, UTP_ON_ACCEPT, on_accept);
  utp_set_callback(ep->ctx, UTP_ON_READ, on_read);
  utp_set_callback(ep->ctx, UTP_ON_STATE_CHANGE, on_state);
  utp_set_callback(ep->ctx, UTP_ON_ERROR, on_error);
  utp_set_callback(ep->ctx, UTP_GET_READ_BUFFER_SIZE, on_read_buffer_size);

  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "BtUtp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &ep->actx));
  CHECK(napi_create_reference(env, argv[4], 1, &ep->data_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &ep->meta_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &ep->cb_ref));
  CHECK(napi_create_reference(env, resource, 1, &ep->resource_ref));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int r = uv_poll_init(loop, &ep->poll, fd);
  if (r < 0) {
    utp_destroy(ep->ctx);
    close(fd);
    free(ep);
    return throw_errno(env, -r, "uv_poll_init");
  }
  ep->poll.data = ep;
  ep->active = 1;
  uv_poll_start(&ep->poll, UV_READABLE, on_readable);
  napi_add_env_cleanup_hook(env, cleanup_hook, ep);

  napi_value out, ext, p, f;
  CHECK(napi_create_external(env, ep, NULL, NULL, &ext));
  CHECK(napi_create_int32(env, bound, &p));
  CHECK(napi_create_int32(env, family == AF_INET6 ? 6 : 4, &f));
  CHECK(napi_create_array_with_length(env, 3, &out));
  CHECK(napi_set_element(env, out, 0, ext));
  CHECK(napi_set_element(env, out, 1, p));
  CHECK(napi_set_element(env, out, 2, f));
  return out;
}

// close(handle): frees everything (connections still open are dropped without a FIN).
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  if (ep && ep->active) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, ep);
    ep_release(ep);
  }
  return NULL;
}

// Reads (handle, id) for the per-connection calls; NULL conn when it is gone.
static int conn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, endpoint_t **ep, conn_t **c) {
  size_t argc = want;
  uint32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return 0;
  *ep = get_ep(env, argv[0]);
  if (!*ep || napi_get_value_uint32(env, argv[1], &id) != napi_ok) return 0;
  *c = (*ep)->active ? conn_get(*ep, id) : NULL;
  if (*c && (*c)->detached) *c = NULL;
  return 1;
}

// connect(handle, host, port) -> id. Throws EINVAL for an address this socket cannot reach.
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  char host[64];
  size_t hl;
  int32_t port;
  if (!ep || !ep->active || napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "connect(handle, host, port)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!parse_addr(host, port, ep->family, &ss, &sl)) return throw_errno(env, EAFNOSUPPORT, host);
  utp_socket *s = utp_create_socket(ep->ctx);
  if (!s) return throw_errno(env, ENOMEM, "utp_create_socket");
  conn_t *c = conn_new(ep, s);
  if (!c) {
    utp_close(s);
    return throw_errno(env, EMFILE, "connect");
  }
  c->announced = 1;
  utp_connect(s, (struct sockaddr *)&ss, sl);
  flush_out(ep);
  napi_value out;
  CHECK(napi_create_uint32(env, c->id, &out));
  return out;
}

// write(handle, id, buffer[, offset]) -> bytes libutp took (it copies them; the rest waits for EV_WRITABLE); -1 gone.
static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  endpoint_t *ep;
  conn_t *c;
  void *buf;
  size_t len;
  uint32_t off = 0;
  size_t argc = 4;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!conn_args(env, info, 3, argv, &ep, &c) || !get_buffer(env, argv[2], &buf, &len)) {
    napi_throw_type_error(env, NULL, "write(handle, id, buffer, offset)");
    return NULL;
  }
  if (argc >= 4) napi_get_value_uint32(env, argv[3], &off);
  ssize_t n = -1;
  if (c) n = off < len ? utp_write(c->sock, (uint8_t *)buf + off, len - off) : 0;
  if (ep->active) flush_out(ep);
  napi_value out;
  CHECK(napi_create_int32(env, (int32_t)n, &out));
  return out;
}

// close(handle, id): FIN after what libutp holds; JavaScript hears nothing more of this id.
static napi_value js_shut(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  endpoint_t *ep;
  conn_t *c;
  if (!conn_args(env, info, 2, argv, &ep, &c)) return NULL;
  if (c) {
    c->detached = 1;
    utp_close(c->sock);
    flush_out(ep);
  }
  return NULL;
}

// end(handle, id): FIN after what libutp holds (half close); data from the peer still arrives.
static napi_value js_end(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  endpoint_t *ep;
  conn_t *c;
  if (!conn_args(env, info, 2, argv, &ep, &c)) return NULL;
  if (c && !c->ended) {
    c->ended = 1;
    utp_shutdown(c->sock, SHUT_WR);
    flush_out(ep);
  }
  return NULL;
}

// pause(handle, id, paused): closes or reopens the receive window.
static napi_value js_pause(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  endpoint_t *ep;
  conn_t *c;
  bool paused;
  if (!conn_args(env, info, 3, argv, &ep, &c) || napi_get_value_bool(env, argv[2], &paused) != napi_ok) return NULL;
  if (c && c->paused != (int)paused) {
    c->paused = paused ? 1 : 0;
    if (!paused) utp_read_drained(c->sock);  // sends a window update
    flush_out(ep);
  }
  return NULL;
}

// peer(handle, id) -> [address, port] (IPv4-mapped addresses as plain IPv4) or undefined.
static napi_value js_peer(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  endpoint_t *ep;
  conn_t *c;
  if (!conn_args(env, info, 2, argv, &ep, &c) || !c) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (utp_getpeername(c->sock, (struct sockaddr *)&ss, &sl) != 0) return NULL;
  char text[INET6_ADDRSTRLEN];
  int port;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &s4->sin_addr, text, sizeof text);
    port = ntohs(s4->sin_port);
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], text, sizeof text);
    else inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text);
    port = ntohs(s6->sin6_port);
  }
  napi_value out, a, p;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &a));
  CHECK(napi_create_int32(env, port, &p));
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, a));
  CHECK(napi_set_element(env, out, 1, p));
  return out;
}

// checkTimeouts(handle) -> connections libutp still holds (JavaScript stops its timer at 0).
static napi_value js_check(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  uint32_t live = 0;
  if (ep && ep->active) {
    utp_issue_deferred_acks(ep->ctx);
    utp_check_timeouts(ep->ctx);
    flush_out(ep);
    live = ep->live;
  }
  napi_value out;
  CHECK(napi_create_uint32(env, live, &out));
  return out;
}

// send(handle, buffer, offset, length, port, host) -> 0 or -errno: a raw datagram from this port (the DHT).
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  void *buf;
  size_t len;
  uint32_t off, n;
  int32_t port;
  char host[64];
  size_t hl;
  if (!ep || argc < 6 || !get_buffer(env, argv[1], &buf, &len) || napi_get_value_uint32(env, argv[2], &off) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &n) != napi_ok || napi_get_value_int32(env, argv[4], &port) != napi_ok ||
      napi_get_value_string_utf8(env, argv[5], host, sizeof host, &hl) != napi_ok || (size_t)off + n > len) {
    napi_throw_type_error(env, NULL, "send(handle, buffer, offset, length, port, host)");
    return NULL;
  }
  int rc = 0;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!ep->active) rc = -EBADF;
  else if (!parse_addr(host, port, ep->family, &ss, &sl)) rc = -EAFNOSUPPORT;
  else if (sendto(ep->fd, (uint8_t *)buf + off, n, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) rc = -errno;
  napi_value out;
  CHECK(napi_create_int32(env, rc, &out));
  return out;
}

// sockopt(handle, which) -> the kernel's SO_RCVBUF (0) or SO_SNDBUF (1).
static napi_value js_sockopt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  int32_t which = 0;
  napi_get_value_int32(env, argv[1], &which);
  int v = 0;
  socklen_t l = sizeof v;
  if (ep && ep->active) getsockopt(ep->fd, SOL_SOCKET, which ? SO_SNDBUF : SO_RCVBUF, &v, &l);
  napi_value out;
  CHECK(napi_create_int32(env, v, &out));
  return out;
}

// ref(handle, bool): whether the socket keeps the process alive.
static napi_value js_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint_t *ep = get_ep(env, argv[0]);
  bool on = true;
  napi_get_value_bool(env, argv[1], &on);
  if (ep && ep->active) {
    if (on) uv_ref((uv_handle_t *)&ep->poll);
    else uv_unref((uv_handle_t *)&ep->poll);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"end", NULL, js_end, NULL, NULL, NULL, napi_default, NULL},
      {"shut", NULL, js_shut, NULL, NULL, NULL, napi_default, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_default, NULL},
      {"peer", NULL, js_peer, NULL, NULL, NULL, napi_default, NULL},
      {"checkTimeouts", NULL, js_check, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"sockopt", NULL, js_sockopt, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

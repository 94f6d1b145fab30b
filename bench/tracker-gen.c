/* UDP load generator for bench/tracker.js (BEP 15 announces and scrapes), in C so that it costs a few µs per
 * request and can outrun the trackers it measures: node's dgram costs about as much per datagram as a whole
 * tracker announce, so a node generator on the same cores hides the difference between fast trackers.
 * Same virtual peers and event mix as the JavaScript generator in tracker.js.
 *
 *   tracker-gen MODE HOST PORT TORRENTS FIRST COUNT DURATION_S CONCURRENCY RATE NUMWANT
 *   MODE: fill (each peer announces `started` once), load (closed loop), rate (open loop at RATE/s), scrape
 * Prints one JSON line: done, errors, lost, elapsed, p50, p99 (ms), cpu (s of this process).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 65536
#define BATCH 64

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static double rndf(void) { return (rnd() & 0xffffff) / 16777216.0; }

static void put32(uint8_t *b, uint32_t v) { b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v; }
static uint32_t get32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

static void info_hash(uint8_t *b, uint32_t t) {
  memset(b, 0, 20);
  put32(b, 0xb7b7b7b7);
  put32(b + 16, t);
}

static int cmp(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 11) { fprintf(stderr, "usage: tracker-gen MODE HOST PORT TORRENTS FIRST COUNT DURATION CONCURRENCY RATE NUMWANT\n"); return 2; }
  const char *mode = argv[1];
  int fill = !strcmp(mode, "fill"), rate_mode = !strcmp(mode, "rate"), scrape = !strcmp(mode, "scrape");
  uint32_t T = atoi(argv[4]), first = atoi(argv[5]), count = atoi(argv[6]);
  double duration = atof(argv[7]);
  int conc = atoi(argv[8]);
  double rate = atof(argv[9]);
  int numwant = atoi(argv[10]);
  if (conc < 1) conc = 1;
  if (conc > SLOTS) conc = SLOTS;
  rng ^= (uint64_t)first * 2654435761ULL + 1;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
  inet_pton(AF_INET, argv[2], &to.sin_addr);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 3; }

  uint8_t cid[8];
  uint8_t pkt[2048];
  /* Connection id, retried until the tracker answers. */
  for (int tries = 0;; tries++) {
    uint8_t c[16] = { 0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0xff, 0xff, 0, 1 };
    send(fd, c, 16, 0);
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 200) > 0 && recv(fd, pkt, sizeof pkt, 0) >= 16 && get32(pkt) == 0) { memcpy(cid, pkt + 8, 8); break; }
    if (tries > 50) { fprintf(stderr, "no connect reply\n"); return 3; }
  }

  uint8_t *state = calloc(count, 1); /* 0 not announced / stopped, 1 leecher, 2 seeder */
  uint32_t *slot_tid = calloc(SLOTS, 4);
  double *slot_sent = calloc(SLOTS, sizeof(double));
  uint8_t *busy = calloc(SLOTS, 1);
  size_t lat_cap = 4000000, n_lat = 0;
  float *lat = malloc(lat_cap * sizeof(float));
  uint64_t done = 0, errors = 0, lost = 0, sent_total = 0;
  uint32_t fill_next = 0, seq = 1;
  int outstanding = 0;
  double start = now_ms(), end_at = fill ? 1e300 : start + duration * 1000, last_cid = start, last_sweep = start;

  struct mmsghdr out[BATCH], in[BATCH];
  struct iovec oiov[BATCH], iiov[BATCH];
  static uint8_t obuf[BATCH][256], ibuf[BATCH][2048];
  for (int i = 0; i < BATCH; i++) {
    oiov[i].iov_base = obuf[i];
    iiov[i].iov_base = ibuf[i];
    iiov[i].iov_len = sizeof ibuf[i];
    memset(&out[i], 0, sizeof out[i]);
    memset(&in[i], 0, sizeof in[i]);
    out[i].msg_hdr.msg_iov = &oiov[i];
    out[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_iov = &iiov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  int n_out = 0;
  int free_slot = 0; /* rate mode: next slot in the ring */
  int exhausted = 0;

  /* Builds the next request into obuf[n_out] for `slot`; 0 when there is none (fill finished). */
  #define BUILD(slot) ({ int ok_ = 1; uint8_t *b = obuf[n_out]; size_t len; \
    if (scrape) { memcpy(b, cid, 8); put32(b + 8, 2); for (int j = 0; j < 10; j++) info_hash(b + 16 + 20 * j, rnd() % T); len = 216; } \
    else { uint32_t k; int ev, left, nw = numwant; \
      if (fill) { if (fill_next >= count) ok_ = 0; k = fill_next++; if (ok_) state[k] = 1; ev = 2; left = 1000; } \
      else { k = rnd() % count; double r = rndf(); int st = state[k]; \
        if (st == 0) { state[k] = 1; ev = 2; left = 1000; } \
        else if (st == 1) { if (r < 0.05) { state[k] = 2; ev = 1; left = 0; } else if (r < 0.08) { state[k] = 0; ev = 3; left = 500; nw = 0; } else { ev = 0; left = 500; } } \
        else { if (r < 0.05) { state[k] = 0; ev = 3; left = 0; nw = 0; } else { ev = 0; left = 0; } } } \
      if (ok_) { uint32_t i = first + k; memset(b, 0, 98); memcpy(b, cid, 8); put32(b + 8, 1); info_hash(b + 16, i % T); \
        snprintf((char *)b + 36, 21, "-BENCH-%013x", i); put32(b + 68, left); put32(b + 80, ev); put32(b + 92, (uint32_t)nw); \
        uint16_t port = 1024 + (i / T) % 60000; b[96] = port >> 8; b[97] = port & 255; len = 98; } } \
    if (ok_) { uint32_t tid = ((seq++ & 0x7fff) << 16) | (uint32_t)(slot); put32(b + 12, tid); slot_tid[slot] = tid; \
      slot_sent[slot] = now_ms(); if (!busy[slot]) { busy[slot] = 1; outstanding++; } oiov[n_out].iov_len = len; n_out++; sent_total++; } \
    ok_; })
  #define FLUSH() do { int o_ = 0; while (o_ < n_out) { int r_ = sendmmsg(fd, out + o_, n_out - o_, 0); if (r_ <= 0) { if (errno == EAGAIN || errno == ENOBUFS) { struct pollfd p_ = { fd, POLLOUT, 0 }; poll(&p_, 1, 5); continue; } break; } o_ += r_; } n_out = 0; } while (0)

  if (!rate_mode) {
    for (int s = 0; s < conc; s++) {
      if (!BUILD(s)) { exhausted = 1; break; }
      if (n_out == BATCH) FLUSH();
    }
    FLUSH();
  }
  for (;;) {
    double t = now_ms();
    if (rate_mode) {
      if (t < end_at) {
        uint64_t due = (uint64_t)((t - start) / 1000 * rate);
        while (sent_total < due) {
          free_slot = (free_slot + 1) & (SLOTS - 1);
          if (busy[free_slot]) { lost++; busy[free_slot] = 0; outstanding--; }
          BUILD(free_slot);
          if (n_out == BATCH) FLUSH();
        }
        FLUSH();
      } else if (outstanding == 0 || t > end_at + 1000) break;
    } else if ((t >= end_at || exhausted) && outstanding == 0) break;
    else if (t > end_at + 2000) break;
    if (t - last_cid > 30000) { /* ids live one to two minutes */
      uint8_t c[16] = { 0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0xff, 0xff, 0, 1 };
      send(fd, c, 16, 0);
      last_cid = t;
    }
    struct pollfd p = { fd, POLLIN, 0 };
    poll(&p, 1, rate_mode ? 1 : 10);
    int n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
    t = now_ms();
    for (int i = 0; i < n; i++) {
      uint8_t *m = ibuf[i];
      if (in[i].msg_len < 8) continue;
      uint32_t action = get32(m), tid = get32(m + 4);
      if (action == 0 && tid == 0xffff0001 && in[i].msg_len >= 16) { memcpy(cid, m + 8, 8); continue; }
      int slot = tid & 0xffff;
      if (!busy[slot] || slot_tid[slot] != tid) continue;
      busy[slot] = 0;
      outstanding--;
      done++;
      if (action == 3) errors++;
      if (n_lat < lat_cap) lat[n_lat++] = (float)(t - slot_sent[slot]);
      if (!rate_mode && t < end_at && !exhausted) {
        if (!BUILD(slot)) exhausted = 1;
        if (n_out == BATCH) FLUSH();
      }
    }
    FLUSH();
    if (!rate_mode && t - last_sweep > 100) { /* a request unanswered for a second is lost; its slot goes on */
      last_sweep = t;
      for (int s = 0; s < conc; s++) {
        if (busy[s] && t - slot_sent[s] > 1000) {
          lost++; busy[s] = 0; outstanding--;
          if (t < end_at && !exhausted) { if (!BUILD(s)) exhausted = 1; if (n_out == BATCH) FLUSH(); }
        }
      }
      FLUSH();
    }
  }
  double elapsed = (now_ms() - start) / 1000;
  qsort(lat, n_lat, sizeof(float), cmp);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"done\":%llu,\"errors\":%llu,\"lost\":%llu,\"elapsed\":%.4f,\"p50\":%.3f,\"p99\":%.3f,\"cpu\":%.4f}\n",
    (unsigned long long)done, (unsigned long long)errors, (unsigned long long)lost, elapsed,
    n_lat ? lat[n_lat / 2] : 0.0, n_lat ? lat[(size_t)(n_lat * 0.99)] : 0.0, cpu);
  return 0;
}

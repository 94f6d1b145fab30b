#!/usr/bin/python3
# Several python3-libtorrent sessions in one process, each a DHT node on 127.0.0.1 (they answer BEP 51
# sample_infohashes) and optionally seeding some torrents, for the crawler tests. One JSON config in argv[1]:
# {"bootstrap": ["127.0.0.1:P"], "sessions": N, "sample_interval": S, "seeds": [[torrent, save_dir], ...]}
# Events on stdout, one JSON per line: {"ev": "node", "dht_port": P, "port": P} per session, {"ev": "ready"} once
# every torrent is seeding. EOF on stdin ends it.
import ctypes
import json
import os
import signal
import sys
import socket
import threading
import time

import libtorrent as lt


def emit(ev, **fields):
    fields['ev'] = ev
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def free_port():
    # libtorrent's DHT speaks on the UDP socket of its listen interface; with port 0 the TCP and UDP ports may
    # differ and listen_port() reports TCP. Pick a port free for both.
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(('127.0.0.1', 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(('127.0.0.1', port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError('no free port')


def main():
    try:
        ctypes.CDLL('libc.so.6').prctl(1, signal.SIGKILL, 0, 0, 0)  # die with the parent
    except Exception:
        pass
    cfg = json.loads(sys.argv[1])
    boot = ','.join(cfg.get('bootstrap') or [])
    sessions = []
    for i in range(int(cfg.get('sessions', 1))):
        s = lt.session({
            'listen_interfaces': '127.0.0.1:%d' % free_port(),
            'enable_dht': True,
            'dht_bootstrap_nodes': boot,
            'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'enable_ip_notifier': False,
            'allow_multiple_connections_per_ip': True,
            'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False, 'dht_ignore_dark_internet': False,
            # Every node here shares 127.0.0.1: libtorrent's per-IP flood block (5 packets/s, then 5 min of silence)
            # and its DHT upload cap would silence the whole swarm.
            'dht_block_ratelimit': 1000000, 'dht_block_timeout': 1, 'dht_upload_rate_limit': 10000000,
            'dht_sample_infohashes_interval': int(cfg.get('sample_interval', 0)),
            'dht_max_infohashes_sample_count': 20,
            'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification,
        })
        sessions.append(s)
    handles = []
    for k, (torrent, save) in enumerate(cfg.get('seeds') or []):
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(torrent)
        atp.save_path = save
        atp.flags |= lt.torrent_flags.disable_lsd
        handles.append(sessions[k % len(sessions)].add_torrent(atp))
    for s in sessions:
        emit('node', port=s.listen_port(), dht_port=s.listen_port())

    def read_stdin():
        for _ in sys.stdin:
            pass
        os._exit(0)

    threading.Thread(target=read_stdin, daemon=True).start()
    ready = False
    while True:
        time.sleep(0.2)
        for s in sessions:
            s.pop_alerts()
        if not ready and all(h.status().state == lt.torrent_status.states.seeding for h in handles):
            ready = True
            emit('ready', torrents=len(handles))
        if ready:
            for h in handles:
                pass


if __name__ == '__main__':
    main()

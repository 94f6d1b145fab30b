#!/usr/bin/python3
# A local DHT of N python3-libtorrent nodes on 127.0.0.1 (for bench/dht-restart.js --lt-dht): node 0 starts alone,
# the others bootstrap from it. argv: N [PORT,PORT,...] (the ports of an earlier DHT: same addresses, new node ids).
# Prints one JSON line {bootstrap, ports} once they have had a few seconds to fill their tables; ends when stdin closes.
import json
import os
import sys
import threading
import time

import libtorrent as lt


def session(port, bootstrap):
    return lt.session({
        'listen_interfaces': '127.0.0.1:%d' % port,
        'enable_dht': True,
        'dht_bootstrap_nodes': bootstrap,
        'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'enable_ip_notifier': False,
        # Every node shares one IP: libtorrent's anti-sybil rules and DoS blocker would shut most of them out.
        'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False, 'dht_block_ratelimit': 1000000,
        'alert_mask': 0,
    })


def listen_port(s):
    for _ in range(500):
        if s.listen_port():
            return s.listen_port()
        time.sleep(0.01)
    raise SystemExit('libtorrent did not listen')


def main():
    n = int(sys.argv[1])
    ports = [int(p) for p in sys.argv[2].split(',')] if len(sys.argv) > 2 and sys.argv[2] else []
    port = lambda i: ports[i] if i < len(ports) else 0
    first = session(port(0), '')
    p0 = listen_port(first)
    nodes = [first] + [session(port(i), '127.0.0.1:%d' % p0) for i in range(1, n)]
    for s in nodes[1:]:
        s.add_dht_node(('127.0.0.1', p0))
        listen_port(s)
    time.sleep(3)  # libtorrent's tables fill over a few refreshes
    print(json.dumps({'bootstrap': '127.0.0.1:%d' % p0, 'ports': [s.listen_port() for s in nodes]}), flush=True)
    sys.stdin.read()
    os._exit(0)


main()

#!/usr/bin/python3
# A python3-libtorrent peer (seeder or leecher) confined to 127.0.0.1, driven by test/helpers/libtorrent.ts and the
# benches: one JSON config in argv[1], one JSON event per line on stdout, text commands on stdin (EOF ends it).
import ctypes
import json
import os
import signal
import sys
import threading
import time

import libtorrent as lt


T0 = time.monotonic()


def emit(ev, **fields):
    fields['ev'] = ev
    fields['t'] = round(time.monotonic() - T0, 3)  # seconds since start: lets a failing test's log show what was slow
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def die_with_parent():
    # Belt and braces next to the stdin-EOF rule: a SIGKILLed test runner closes our stdin anyway, but a parent that
    # hands stdin to someone else would not.
    try:
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except Exception:
        pass


def split_host_port(s):
    host, _, port = s.rpartition(':')
    return host.strip('[]'), int(port)


def main():
    die_with_parent()
    cfg = json.loads(sys.argv[1])
    port = int(cfg.get('port') or 0)
    dht_nodes = cfg.get('dht_bootstrap') or []

    settings = {
        'listen_interfaces': '127.0.0.1:%d' % port,
        'enable_dht': bool(dht_nodes),
        'dht_bootstrap_nodes': ','.join(dht_nodes),
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_ip_notifier': False,
        'allow_multiple_connections_per_ip': True,
        # libtorrent tries uTP first on outgoing connections, and its uTP runs at ~10 MiB/s on loopback against
        # 150+ MiB/s for TCP: TCP only, unless a test is about uTP.
        'enable_outgoing_utp': bool(cfg.get('utp')),
        'enable_incoming_utp': bool(cfg.get('utp')),
        'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
        | lt.alert.category_t.storage_notification | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.performance_warning | lt.alert.category_t.dht_notification
        # LT_DIAG=1: libtorrent's own DHT log lines too (diag_log events), to see why a DHT test is slow.
        | (lt.alert.category_t.dht_operation_notification | lt.alert.category_t.dht_log_notification if os.environ.get('LT_DIAG') else 0),
    }
    enc = cfg.get('encryption')
    if enc == 'forced':
        # Encrypted handshakes only, both ways, with an RC4 payload (what a user's "require encryption" means).
        settings['out_enc_policy'] = int(lt.enc_policy.pe_forced)
        settings['in_enc_policy'] = int(lt.enc_policy.pe_forced)
        settings['allowed_enc_level'] = int(lt.enc_level.pe_rc4)
        settings['prefer_rc4'] = True
    elif enc == 'disabled':
        settings['out_enc_policy'] = int(lt.enc_policy.pe_disabled)
        settings['in_enc_policy'] = int(lt.enc_policy.pe_disabled)
    # Any other libtorrent settings a test needs (e.g. unchoke_slots_limit), applied last. Keys 'local_peer_class.X'
    # are not settings but fields of libtorrent's "local" peer class, which every 127.0.0.1 peer falls in: its default
    # ignore_unchoke_slots=True unchokes loopback peers at once whatever unchoke_slots_limit says, so a test of a
    # choking libtorrent sets 'local_peer_class.ignore_unchoke_slots': False.
    extra = dict(cfg.get('settings') or {})
    local_class = {k.split('.', 1)[1]: extra.pop(k) for k in list(extra) if k.startswith('local_peer_class.')}
    settings.update(extra)
    if dht_nodes:
        # Every node of a loopback DHT shares one IP; the default anti-sybil rules would keep only one of them.
        settings['dht_restrict_routing_ips'] = False
        settings['dht_restrict_search_ips'] = False
        # libtorrent's DHT DoS blocker bans an IP that sends it 50 packets within 10 s (dht_block_ratelimit 5/s) for
        # 5 minutes, dropping everything from it. On loopback every node of the swarm is 127.0.0.1, so a seeder
        # that serves a few lookups bans the whole DHT, stops answering, and every later libtorrent peer waits out
        # its 15 s query timeout on it (seen: a magnet leecher's bootstrap took 15.2 s, "BANNING PEER 127.0.0.1").
        settings['dht_block_ratelimit'] = 1000000
    if cfg.get('high_performance'):
        hp = lt.high_performance_seed()
        hp.update(settings)
        settings = hp
    ses = lt.session(settings)
    if local_class:
        pc = ses.get_peer_class(ses.local_peer_class_id)
        pc.update(local_class)
        ses.set_peer_class(ses.local_peer_class_id, pc)

    if cfg.get('magnet'):
        atp = lt.parse_magnet_uri(cfg['magnet'])
    else:
        atp = lt.add_torrent_params()
        try:
            atp.ti = lt.torrent_info(cfg['torrent'])
        except Exception as e:
            emit('error', message='cannot load torrent: %s' % e)
            os._exit(2)
    atp.save_path = cfg['save']
    extra_trackers = cfg.get('trackers') or []
    if extra_trackers:
        atp.trackers = list(atp.trackers) + extra_trackers
    if not dht_nodes:
        atp.flags |= lt.torrent_flags.disable_dht
    atp.flags |= lt.torrent_flags.disable_lsd
    handle = ses.add_torrent(atp)
    emit('added', info_hash=str(handle.info_hash()))
    if cfg.get('upload_limit'):
        handle.set_upload_limit(int(cfg['upload_limit']))

    seed = bool(cfg.get('seed'))
    # Benches time the whole process: a leecher that exits once complete, as aria2c --seed-time=0 does.
    exit_on_finish = bool(cfg.get('exit_on_finish')) and not seed
    has_trackers = bool(handle.trackers())
    pending_peers = list(cfg.get('peers') or [])
    commands = []
    lock = threading.Lock()

    def read_stdin():
        for line in sys.stdin:
            with lock:
                commands.append(line.strip())
        os._exit(0)  # stdin closed: our owner is gone or asked us to stop

    threading.Thread(target=read_stdin, daemon=True).start()

    listening = False
    ready = False
    tracker_answered = False
    finished = False
    flushing = False

    def start_flush():
        # "Finished" means every piece passed its hash check, not that every block has left libtorrent's store
        # buffer for the file: flush_cache is a fence job that ends after the outstanding writes, so `finished` is
        # only reported (and a bench leecher only exits) once the file on disk is whole.
        nonlocal flushing
        if not flushing:
            flushing = True
            handle.flush_cache()
    last_state = None
    interval = float(cfg.get('interval') or 0.25)
    next_progress = 0.0
    connectable = (lt.torrent_status.states.downloading_metadata, lt.torrent_status.states.downloading,
                   lt.torrent_status.states.finished, lt.torrent_status.states.seeding)

    while True:
        # Not ses.wait_for_alert(): its Python binding turns the returned alert pointer into an object, and that
        # pointer can already be stale; libtorrent 2.0.8 (Debian) then dies with SIGSEGV inside the call (seen in
        # about half the runs of a libtorrent leecher behind a UDP tracker). A short sleep then pop_alerts is safe.
        time.sleep(0.02)
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert):
                if not listening and a.socket_type == lt.socket_type_t.tcp:
                    listening = True
                    emit('listening', port=a.port)
            elif isinstance(a, lt.listen_failed_alert):
                emit('error', message='listen failed: %s' % a.message())
                os._exit(3)
            elif isinstance(a, lt.tracker_reply_alert):
                tracker_answered = True
                emit('tracker_reply', url=a.url, peers=a.num_peers)
            elif isinstance(a, lt.tracker_error_alert):
                tracker_answered = True
                emit('tracker_error', url=a.url, message=a.message())
            elif isinstance(a, lt.performance_alert):
                emit('warning', message=a.message())
            elif isinstance(a, lt.dht_bootstrap_alert):
                # A torrent added while the DHT was still starting waits for the next announce round (up to
                # dht_announce_interval, 15 min with one torrent): announce as soon as the DHT is up instead.
                handle.force_dht_announce()
                emit('dht_bootstrap')
            elif isinstance(a, lt.dht_outgoing_get_peers_alert):
                emit('diag_get_peers', ih=str(a.info_hash)[:8], to=str(a.endpoint))
            elif isinstance(a, lt.dht_log_alert):
                emit('diag_log', m=a.log_message()[:150])
            elif isinstance(a, lt.dht_reply_alert):
                emit('dht_reply', peers=a.num_peers)
            elif isinstance(a, lt.metadata_received_alert):
                emit('metadata')
            elif isinstance(a, lt.torrent_finished_alert):
                start_flush()
            elif isinstance(a, lt.cache_flushed_alert):
                if flushing and not finished:
                    finished = True
                    emit('finished')
                    if exit_on_finish:
                        os._exit(0)
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                emit('error', message=a.message())

        with lock:
            cmds, commands[:] = commands[:], []
        for c in cmds:
            verb, _, arg = c.partition(' ')
            if verb == 'add_peer' and arg:
                pending_peers.append(arg.strip())
            elif verb == 'quit':
                os._exit(0)
            elif verb == 'status':
                next_progress = 0.0

        st = handle.status()
        if st.state != last_state:
            last_state = st.state
            emit('state', state=str(st.state))
        if st.state in connectable and pending_peers:
            for p in pending_peers:
                try:
                    handle.connect_peer(split_host_port(p))
                except Exception as e:
                    emit('error', message='connect_peer %s: %s' % (p, e))
            pending_peers = []
        if st.state in (lt.torrent_status.states.finished, lt.torrent_status.states.seeding):
            start_flush()
        becomes_ready = not ready and listening and (
            not seed or (st.state == lt.torrent_status.states.seeding and (tracker_answered or not has_trackers)))
        now = time.monotonic()
        if now >= next_progress or becomes_ready:
            next_progress = now + interval
            emit('progress', progress=st.progress, peers=st.num_peers, state=str(st.state),
                 down=st.download_payload_rate, up=st.upload_payload_rate, done=st.total_done,
                 uploaded=st.all_time_upload)
        if becomes_ready:
            ready = True
            emit('ready')  # after a fresh progress line, so stats() is current when startLibtorrent resolves


if __name__ == '__main__':
    main()

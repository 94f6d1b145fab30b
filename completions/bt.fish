# fish completion for bt. Copy to ~/.config/fish/completions/bt.fish.
set -l cmds download seed metainfo create
complete -c bt -f
complete -c bt -s v -l verbose -d 'more logging; stack traces'
complete -c bt -s h -l help -d 'show help'
complete -c bt -l version -d 'show version'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a download -d 'download torrents'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a seed -d 'seed a torrent or share a path'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a metainfo -d 'inspect a torrent file or magnet'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a create -d 'make a torrent of a file or directory'
# network options: download, seed, metainfo (rate limits and --max-peers: download and seed only)
set -l netcmds download seed metainfo
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -s p -l port -x -d 'listen port'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l peer -x -d 'connect to host:port'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -s t -l tracker -x -d 'extra tracker URL'
complete -c bt -n "__fish_seen_subcommand_from download seed" -s D -l download-limit -x -d 'max download rate'
complete -c bt -n "__fish_seen_subcommand_from download seed" -s U -l upload-limit -x -d 'max upload rate'
complete -c bt -n "__fish_seen_subcommand_from download seed" -l max-peers -x -d 'connections per torrent'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l dht -d 'use the DHT'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l no-dht -d 'do not use the DHT'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l dht-port -x -d 'DHT UDP port'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l dht-bootstrap -x -d 'DHT bootstrap nodes'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l metadata-timeout -x -d 'seconds to wait for metadata'
complete -c bt -n "__fish_seen_subcommand_from $netcmds create" -s q -l quiet -d 'print nothing but errors'
complete -c bt -n "__fish_seen_subcommand_from $netcmds" -l json -d 'JSON output'
complete -c bt -n '__fish_seen_subcommand_from download' -F
complete -c bt -n '__fish_seen_subcommand_from download' -s o -l output -r -d 'download directory'
complete -c bt -n '__fish_seen_subcommand_from download' -s s -l select -x -d 'file indices, e.g. 0,2-4'
complete -c bt -n '__fish_seen_subcommand_from download' -l select-glob -x -d 'files matching a glob'
complete -c bt -n '__fish_seen_subcommand_from download' -l seed -d 'seed after downloading'
complete -c bt -n '__fish_seen_subcommand_from download' -l verify -d 're-check existing data'
complete -c bt -n '__fish_seen_subcommand_from seed' -F
complete -c bt -n '__fish_seen_subcommand_from seed' -s d -l dir -r -d 'data directory'
complete -c bt -n '__fish_seen_subcommand_from seed' -l save-torrent -r -d 'write the .torrent'
complete -c bt -n '__fish_seen_subcommand_from metainfo' -F
complete -c bt -n '__fish_seen_subcommand_from metainfo' -a 'magnet info files pieces json save'
complete -c bt -n '__fish_seen_subcommand_from metainfo' -s o -l output -r -d 'save: output file'
complete -c bt -n '__fish_seen_subcommand_from create' -F
complete -c bt -n '__fish_seen_subcommand_from create' -s o -l output -r -d 'output file'
complete -c bt -n '__fish_seen_subcommand_from create' -s f -l force -d 'overwrite the output file'
complete -c bt -n '__fish_seen_subcommand_from create' -s t -l tracker -x -d 'tracker tier (comma-separated URLs)'
complete -c bt -n '__fish_seen_subcommand_from create' -s l -l piece-length -x -a 'auto 16k 32k 64k 128k 256k 512k 1M 2M 4M 8M 16M' -d 'piece length'
complete -c bt -n '__fish_seen_subcommand_from create' -s p -l private -d 'private flag'
complete -c bt -n '__fish_seen_subcommand_from create' -s c -l comment -x -d 'comment'
complete -c bt -n '__fish_seen_subcommand_from create' -s w -l web-seed -x -d 'web seed URL'
complete -c bt -n '__fish_seen_subcommand_from create' -s n -l name -x -d 'torrent name'
complete -c bt -n '__fish_seen_subcommand_from create' -l source -x -d 'source tag'
complete -c bt -n '__fish_seen_subcommand_from create' -l no-date -d 'no creation date'

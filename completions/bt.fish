# fish completion for bt. Copy to ~/.config/fish/completions/bt.fish.
set -l cmds metainfo create
complete -c bt -f
complete -c bt -s v -l verbose -d 'more logging; stack traces'
complete -c bt -s h -l help -d 'show help'
complete -c bt -l version -d 'show version'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a metainfo -d 'inspect a torrent file'
complete -c bt -n "not __fish_seen_subcommand_from $cmds" -a create -d 'make a torrent of a file or directory'
complete -c bt -n '__fish_seen_subcommand_from metainfo' -F
complete -c bt -n '__fish_seen_subcommand_from metainfo' -a 'magnet info files pieces json'
complete -c bt -n '__fish_seen_subcommand_from metainfo' -l json -d 'print as JSON'
complete -c bt -n '__fish_seen_subcommand_from create' -F
complete -c bt -n '__fish_seen_subcommand_from create' -s o -l output -r -d 'output file'
complete -c bt -n '__fish_seen_subcommand_from create' -s t -l tracker -x -d 'tracker tier (comma-separated URLs)'
complete -c bt -n '__fish_seen_subcommand_from create' -s l -l piece-length -x -a 'auto 16k 32k 64k 128k 256k 512k 1M 2M 4M 8M 16M' -d 'piece length'
complete -c bt -n '__fish_seen_subcommand_from create' -s p -l private -d 'private flag'
complete -c bt -n '__fish_seen_subcommand_from create' -s c -l comment -x -d 'comment'
complete -c bt -n '__fish_seen_subcommand_from create' -s w -l web-seed -x -d 'web seed URL'
complete -c bt -n '__fish_seen_subcommand_from create' -s n -l name -x -d 'torrent name'
complete -c bt -n '__fish_seen_subcommand_from create' -l source -x -d 'source tag'
complete -c bt -n '__fish_seen_subcommand_from create' -l no-date -d 'no creation date'
complete -c bt -n '__fish_seen_subcommand_from create' -s q -l quiet -d 'no progress'

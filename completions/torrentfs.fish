# fish completion for torrentfs. Copy to ~/.config/fish/completions/torrentfs.fish.
complete -c torrentfs -f
complete -c torrentfs -o mountDir -l mount-dir -x -a '(__fish_complete_directories)' -d 'where to mount'
complete -c torrentfs -o metainfoDir -l metainfo-dir -x -a '(__fish_complete_directories)' -d 'directory of .torrent and .magnet files'
complete -c torrentfs -o downloadDir -l download-dir -x -a '(__fish_complete_directories)' -d 'where torrent data is stored'
complete -c torrentfs -l readahead -o readaheadBytes -x -a '0 4M 16M 64M 256M' -d 'largest readahead window per open file'
complete -c torrentfs -l port -x -d 'peer listen port'
complete -c torrentfs -l no-upload -d 'do not upload to peers'
complete -c torrentfs -s v -l verbose -d 'more logging; stack traces'
complete -c torrentfs -s h -l help -d 'show help'
complete -c torrentfs -l version -d 'show version'

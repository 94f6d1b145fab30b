# bash completion for torrentfs. Source it, or copy to /usr/share/bash-completion/completions/torrentfs.
_torrentfs() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  case "$prev" in
    -mountDir|--mountDir|--mount-dir|-metainfoDir|--metainfoDir|--metainfo-dir|-downloadDir|--downloadDir|--download-dir)
      COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --readahead|-readahead|-readaheadBytes|--readaheadBytes)
      COMPREPLY=($(compgen -W "0 4M 16M 64M 256M" -- "$cur")); return ;;
    --encryption|-encryption) COMPREPLY=($(compgen -W "prefer require off" -- "$cur")); return ;;
    --port|-port|--peer|-peer|-t|--tracker|-tracker|--dht-port|-dht-port|--dht-bootstrap|-dht-bootstrap) return ;;
  esac
  # Single-dash long options (anacrolix style) when the word starts with one dash, else the two-dash forms.
  if [[ "$cur" == -- || "$cur" == --* ]]; then
    COMPREPLY=($(compgen -W "--mountDir --mount-dir --metainfoDir --metainfo-dir --downloadDir --download-dir --readahead --port --no-upload --peer --tracker --dht --no-dht --dht-port --dht-bootstrap --encryption --no-utp --no-tcp --verbose --help --version" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "-mountDir -metainfoDir -downloadDir -readahead -port -no-upload -peer -tracker -t -dht -no-dht -dht-port -dht-bootstrap -encryption -no-utp -no-tcp -verbose -v -help -h -version" -- "$cur"))
  fi
}
complete -F _torrentfs torrentfs

# bash completion for bt. Source it, or copy to /usr/share/bash-completion/completions/bt.
_bt() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local cmds="download seed metainfo create"
  cmds+=" import search"
  cmds+=" serve"
  cmds+=" tracker"
  cmds+=" classify"
  cmds+=" crawl"
  local global="--verbose -v --help -h --version"
  # Where peers come from (download, seed, metainfo of a magnet); then what only running torrents take.
  local net="--port -p --bind --peer --tracker -t --dht --no-dht --dht-port --dht-bootstrap --metadata-timeout --encryption --utp --no-utp --tcp --no-tcp --quiet -q"
  local run="--download-limit -D --upload-limit -U --max-peers --json"
  if [ "$cword" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$cmds $global" -- "$cur")); return
  fi
  case "$prev" in
    -o|--output|-d|--dir|--save-torrent|--state|--whitelist) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --host|--http-port|--udp-port|--interval|--peer-timeout|--numwant-max|--max-swarm-peers|--rate-limit) return ;;
    -l|--piece-length) COMPREPLY=($(compgen -W "auto 16k 32k 64k 128k 256k 512k 1M 2M 4M 8M 16M" -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W "relevance size date seeders name" -- "$cur")); return ;;
    --type) COMPREPLY=($(compgen -W "movie tv_show music ebook comic audiobook software game xxx unknown" -- "$cur")); return ;;
    --res) COMPREPLY=($(compgen -W "480p 720p 1080p 2160p" -- "$cur")); return ;;
    --db) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --year|--source|--codec|--lang|--min-size|--max-size|--season|--ep|--group|--added|--limit|-n|--offset|--batch-size|--jobs|-j) return ;;
    --download-dir|--api-key-file|--password-file|--tracker-whitelist) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --encryption) COMPREPLY=($(compgen -W "prefer require off" -- "$cur")); return ;;
    --host|--api-key|--user|--allowed-host|--peer-port|--peer-bind|--metadata-wait) return ;;
    -t|--tracker|-w|--web-seed|-c|--comment|-n|--name|--source|--peer|--bind|-p|--port|-D|--download-limit|-U|--upload-limit|--max-peers|--dht-port|--dht-bootstrap|--metadata-timeout|-s|--select|--select-glob) return ;;
  esac
  case "${words[1]}" in
    download)
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--output -o --select -s --select-glob --seed --verify $net $run $global" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -X '!*.torrent' -- "$cur") $(compgen -d -- "$cur"))
      fi ;;
    seed)
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--dir -d --save-torrent $net $run $global" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi ;;
    metainfo)
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--json --output -o $net $global" -- "$cur"))
      elif [ "$cword" -eq 2 ]; then
        COMPREPLY=($(compgen -f -X '!*.torrent' -- "$cur") $(compgen -d -- "$cur"))
      else
        COMPREPLY=($(compgen -W "magnet info files pieces json save" -- "$cur"))
      fi ;;
    classify)
      if [[ "$prev" == --files ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
      [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "--files --json $global" -- "$cur")) ;;
    create)
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--output -o --force -f --tracker -t --piece-length -l --private -p --comment -c --web-seed -w --name -n --source --no-date --quiet -q $global" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi ;;
    import)
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--db --batch-size --jobs -j --json --quiet -q $global" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi ;;
    crawl)
      COMPREPLY=($(compgen -W "--db --port -p --dht-bootstrap --nodes --workers --rate --metadata-concurrency --duration --state-dir --json --quiet -q $global" -- "$cur")) ;;
    search)
      COMPREPLY=($(compgen -W "--db --type --year --res --source --codec --lang --min-size --max-size --season --ep --group --added --sort --limit -n --offset --facets --json --magnet $global" -- "$cur")) ;;
    serve)
      COMPREPLY=($(compgen -W "--host --port --download-dir --api-key --api-key-file --user --password-file --allowed-host --peer-port --peer-bind --peer --download-limit -D --upload-limit -U --max-peers --dht --no-dht --dht-port --dht-bootstrap --encryption --no-utp --no-tcp --metadata-wait --tracker --tracker-private --tracker-whitelist --db $global" -- "$cur")) ;;
    tracker)
      COMPREPLY=($(compgen -W "--host --http-port --udp-port --state --memory --interval --peer-timeout --numwant-max --max-swarm-peers --rate-limit --private --whitelist --full-scrape --allow-ip-param --workers --send-thread --no-send-thread --json $global" -- "$cur")) ;;
  esac
}
complete -F _bt bt

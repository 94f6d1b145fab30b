# bash completion for bt. Source it, or copy to /usr/share/bash-completion/completions/bt.
_bt() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local cmds="metainfo create"
  local global="--verbose -v --help -h --version"
  if [ "$cword" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$cmds $global" -- "$cur")); return
  fi
  case "${words[1]}" in
    metainfo)
      case "$cword" in
        2) COMPREPLY=($(compgen -f -X '!*.torrent' -- "$cur") $(compgen -d -- "$cur")) ;;
        3) COMPREPLY=($(compgen -W "magnet info files pieces json" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "--json $global" -- "$cur")) ;;
      esac ;;
    create)
      case "$prev" in
        -o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -l|--piece-length) COMPREPLY=($(compgen -W "auto 16k 32k 64k 128k 256k 512k 1M 2M 4M 8M 16M" -- "$cur")); return ;;
        -t|--tracker|-w|--web-seed|-c|--comment|-n|--name|--source) return ;;
      esac
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "--output -o --tracker -t --piece-length -l --private -p --comment -c --web-seed -w --name -n --source --no-date --quiet -q $global" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
      fi ;;
  esac
}
complete -F _bt bt

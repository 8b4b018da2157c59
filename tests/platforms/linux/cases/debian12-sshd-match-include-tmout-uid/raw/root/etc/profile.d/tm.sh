if [ "$(id -u)" -ne 0 ]; then
  TMOUT=900
  readonly TMOUT
  export TMOUT
fi

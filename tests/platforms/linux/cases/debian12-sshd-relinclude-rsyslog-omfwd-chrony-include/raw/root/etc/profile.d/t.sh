declare -xr TMOUT=300

[ -n "$SSH_CONNECTION" ] && unset TMOUT

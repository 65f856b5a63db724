#!/bin/sh
# Start RabbitMQ the way the official image does. 3.10 reads a single configuration file (no
# conf.d yet), so this writes it: the image's own settings, then every conf.d/*.conf in name order
# (a later line wins). RABBITMQ_DEFAULT_USER / _PASS / _VHOST and RABBITMQ_NODE_PORT are read by
# RabbitMQ itself.
set -eu
config="${RABBITMQ_CONFIG_FILE:-/etc/rabbitmq/rabbitmq.conf}"
case "$config" in *.conf) ;; *) config="$config.conf" ;; esac
{
  cat /etc/rabbitmq/image.conf
  for file in /etc/rabbitmq/conf.d/*.conf; do
    [ -e "$file" ] || continue
    printf '\n# ---- %s\n' "$file"
    cat "$file"
  done
} >"$config"
if [ "${1:-}" = rabbitmq-server ]; then
  shift
  exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"

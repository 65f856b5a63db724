#!/bin/sh
# Runs promtool (Prometheus's rule and config checker) with the given arguments, installing it
# first when it is missing: on Debian or Ubuntu as root, from the distribution's `prometheus`
# package. The package's daemon is not started: a policy-rc.d that forbids starting services is
# put in place for the install when none exists, and removed afterwards.
#
#   deploy/prometheus/promtool.sh check rules deploy/prometheus/alerts.yml
#   deploy/prometheus/promtool.sh test rules deploy/prometheus/alerts.test.yml
#   deploy/prometheus/promtool.sh --install-only        (just make sure it is there)
#
# Elsewhere install it yourself (a Prometheus release tarball, `brew install prometheus`) and
# put it on PATH; PROMTOOL names another binary.
set -eu

PROMTOOL="${PROMTOOL:-promtool}"

install_promtool() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "promtool is not installed: install Prometheus's promtool (Debian: apt-get install prometheus)" >&2
        exit 127
    fi
    echo "installing promtool (Debian package prometheus) with apt-get" >&2
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
    fi
    status=0
    {
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
        { apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 &&
          apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null; }
    } || status=$?
    [ -z "$made_policy" ] || rm -f "$policy"
    # Without a service manager the package cannot start its daemon; with one, make sure it is off.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    [ "$status" = 0 ] || { echo "apt-get could not install prometheus" >&2; exit "$status"; }
}

command -v "$PROMTOOL" >/dev/null 2>&1 || { install_promtool; PROMTOOL=promtool; }

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
exec "$PROMTOOL" "$@"

# Sourced by ./nasviz-app and ./nasviz-test: make sure .venv exists and holds
# requirements.txt + nasviz (editable). Installs only when requirements.txt,
# pyproject.toml or the Python version changed since the last install (stamp in .venv).
# NASVIZ_PYTHON picks the interpreter (default python3, >= 3.11); NASVIZ_REINSTALL=1 forces.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
NASVIZ_ROOT=$PWD
VENV=$NASVIZ_ROOT/.venv
PY=${NASVIZ_PYTHON:-python3}

say() { printf '[nasviz] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1; fi
}

# Seconds apt-get waits for the dpkg lock another apt/dpkg holds (unattended upgrades, a parallel install)
# before giving up; NASVIZ_APT_LOCK_TIMEOUT changes it.
APT_LOCK_TIMEOUT=${NASVIZ_APT_LOCK_TIMEOUT:-600}

# apt_lock_holders: the running package managers that may hold the dpkg lock (pid and command), if any.
apt_lock_holders() {
    command -v pgrep >/dev/null || return 0
    pgrep -a -x 'apt|apt-get|aptitude|dpkg|unattended-upgr|packagekitd' 2>/dev/null | cut -c1-120
}

# say_lock_wait: if another package manager runs, say that apt-get will wait for its lock, and who it is.
say_lock_wait() {
    local holders
    holders=$(apt_lock_holders)
    [ -n "$holders" ] || return 0
    say "another package manager is running; apt-get waits up to ${APT_LOCK_TIMEOUT}s for the dpkg lock it holds:"
    printf '%s\n' "$holders" | sed 's/^/[nasviz]   /' >&2
}

# apt_get ARGS... : apt-get as root that waits for the dpkg/apt locks instead of failing at once.
apt_get() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@"
}

# apt_install PKG... : Debian packages, quietly; the log is shown only if apt fails.
apt_install() {
    command -v apt-get >/dev/null || { say "no apt-get here: install $* with your package manager"; return 1; }
    local log
    log=$(mktemp)
    say "installing Debian packages: $* (apt-get; log $log; waits up to ${APT_LOCK_TIMEOUT}s for the dpkg lock)"
    if say_lock_wait && apt_get update >"$log" 2>&1 && say_lock_wait && apt_get install -y "$@" >>"$log" 2>&1; then
        rm -f "$log"
    else
        tail -n 40 "$log" >&2
        if grep -q "Could not get lock" "$log"; then
            say "gave up after ${APT_LOCK_TIMEOUT}s waiting for the dpkg lock (held by: $(apt_lock_holders | head -n 3 | tr '\n' ';'));" \
                "rerun when it is free, or set NASVIZ_APT_LOCK_TIMEOUT"
        fi
        say "apt-get failed installing: $*"
        return 1
    fi
}

command -v "$PY" >/dev/null || { say "no $PY found: nasviz needs Python >= 3.11 (set NASVIZ_PYTHON)"; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { say "$("$PY" -V 2>&1) is too old: nasviz needs Python >= 3.11 (set NASVIZ_PYTHON)"; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        # Debian's own python3 ships venv separately
        apt_install python3-venv && "$PY" -m venv "$VENV"
    fi
fi

# NASVIZ_REQUIREMENTS: requirements.txt for the app; ./nasviz-test uses requirements-dev.txt
# (which includes requirements.txt plus pytest, playwright and the optional extras under test).
# One stamp per requirements file. The dev file includes requirements.txt, so installing it also
# satisfies the app: ./nasviz-app after ./nasviz-test does not run pip again.
REQS=${NASVIZ_REQUIREMENTS:-requirements.txt}
pyver=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')
stamp_of() { echo "$(cat "$1" requirements.txt pyproject.toml | sha256sum | cut -c1-16)-$pyver"; }
stamp_file() { echo "$VENV/.nasviz-installed-$(basename "$1")"; }
if [ "${NASVIZ_REINSTALL:-0}" = 1 ] || [ "$(cat "$(stamp_file "$REQS")" 2>/dev/null)" != "$(stamp_of "$REQS")" ]; then
    say "installing $REQS and nasviz into .venv (first run: a few minutes)"
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check --progress-bar off -r "$REQS" -e .
    stamp_of "$REQS" >"$(stamp_file "$REQS")"
    if [ "$REQS" != requirements.txt ] && grep -qx -- '-r requirements.txt' "$REQS"; then
        stamp_of requirements.txt >"$(stamp_file requirements.txt)"
    fi
fi
export PATH="$VENV/bin:$PATH"

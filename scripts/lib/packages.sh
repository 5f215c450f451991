# shellcheck shell=bash
# Installs missing Debian packages: the one way scripts/test.sh and bench/compare.sh do it.
# Source this file, then:
#   ensure_packages "command:package" ...
# A package is installed when its command is not found (`command -v`, so an absolute path
# such as /usr/lib/postgresql/15/bin/initdb works too); each package is asked for once,
# with one apt-get update before the first install. Needs root when something is missing.

ensure_packages() {
  local pair cmd pkg missing=()
  for pair in "$@"; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1; then
      case " ${missing[*]-} " in
        *" $pkg "*) ;;
        *) missing+=("$pkg") ;;
      esac
    fi
  done
  if ((${#missing[@]})); then
    printf '==> installing: %s\n' "${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

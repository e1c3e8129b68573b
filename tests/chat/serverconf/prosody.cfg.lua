-- Prosody 0.12 for loopback tests; all state under $DIR.
pidfile = "$DIR/prosody.pid"
data_path = "$DIR/data"
log = { { levels = { min = os.getenv("PROSODY_LOGLEVEL") or "info" }, to = "file", filename = "$DIR/prosody.log" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $PORT }
c2s_direct_tls_ports = { $TLS_PORT }
s2s_ports = { }
component_ports = { $COMPONENT_PORT }
component_interfaces = { "127.0.0.1" }
-- "offline" stays enabled: messages sent while the bot is away come back
-- later with a <delay/>, which the bot must not execute.
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix"; "register"; "admin_shell"; "offline"; }
modules_disabled = { "s2s"; "c2s_limits"; }
admin_socket = "$DIR/admin.sock"
run_as_root = false
authentication = "internal_plain"
storage = "internal"
allow_registration = true
min_seconds_between_registrations = 0
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
certificates = "$DIR"
ssl = { certificate = "$DIR/server.crt"; key = "$DIR/server.key"; }

VirtualHost "localhost"

-- Rooms with real JIDs visible to everyone (non-anonymous).
Component "conference.localhost" "muc"
    restrict_room_creation = false
    muc_room_default_public = true
    muc_room_default_persistent = true
    muc_room_default_public_jids = true
    muc_room_locking = false
    muc_tombstones = false

-- Semi-anonymous rooms: only moderators see real JIDs.
Component "anon.localhost" "muc"
    restrict_room_creation = false
    muc_room_default_public = true
    muc_room_default_persistent = true
    muc_room_default_public_jids = false
    muc_room_locking = false
    muc_tombstones = false

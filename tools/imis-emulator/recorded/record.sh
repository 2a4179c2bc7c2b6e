#!/usr/bin/env bash
# Regenerate tools/imis-emulator/recorded/*.json by starting the emulator with the demo
# fixtures and calling it with curl.  Small responses are pretty-printed (key order and
# number literals preserved); the two 500-row IQA pages are stored byte-for-byte as sent.
# INDEX.md lists each file with the request, HTTP status and Content-Type.
#
# Usage: tools/imis-emulator/recorded/record.sh   (needs cargo, curl, python3)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
cargo build -q -p imis-emulator
bin="${CARGO_TARGET_DIR:-$root/target}/debug/imis-emulator"

tmp="$(mktemp -d)"
"$bin" --addr 127.0.0.1:0 --fixtures "$here/../fixtures/demo.json" --var IDP_PORT=8443 \
    >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
    grep -q 'listening on' "$tmp/stdout" && break
    sleep 0.1
done
base="$(sed -n 's/^imis-emulator listening on //p' "$tmp/stdout")"
[ -n "$base" ] || { cat "$tmp/stderr" >&2; echo "emulator did not start" >&2; exit 1; }

index="$here/INDEX.md"
{
    echo "# Recorded emulator responses"
    echo
    echo "Produced by \`record.sh\` against the demo fixtures (\`--var IDP_PORT=8443\`)."
    echo "Tokens and dates differ on every run. Sites: \`acme\` (Cloud, api prefix \`/acme\`),"
    echo "\`globex\` (2017, api prefix \`/globex/Asi.Scheduler_iMIS\`)."
    echo
    echo "| file | request | status | content-type |"
    echo "|---|---|---|---|"
} >"$index"

# record FILE PRETTY(yes|raw) DESCRIPTION -- curl args...
record() {
    local file="$1" pretty="$2" desc="$3"
    shift 4
    local meta
    meta="$(curl -sS -o "$tmp/body" -w '%{http_code}|%{content_type}' "$@")"
    if [ "$pretty" = yes ]; then
        python3 -m json.tool --indent 2 --no-ensure-ascii "$tmp/body" >"$here/$file"
    else
        cp "$tmp/body" "$here/$file"
    fi
    echo "| \`$file\` | $desc | ${meta%%|*} | \`${meta#*|}\` |" >>"$index"
    echo "recorded $file (${meta%%|*})"
}

form=(-H 'Content-Type: application/x-www-form-urlencoded')

# A refresh token as the SSO page hands it off.
sso_refresh_token() {
    curl -sS "${form[@]}" --data 'username=jsmith&password=Member-Passw0rd' \
        "$base/acme/sso/EdgeIdP-OIDC" |
        grep -o 'name="refresh_token" value="[0-9a-f]*"' | sed 's/.*value="//; s/"$//'
}

# ---- /token ------------------------------------------------------------------------------
record token_password_success.json yes 'POST /acme/token grant_type=password (jsmith)' -- \
    "${form[@]}" --data 'grant_type=password&username=jsmith&password=Member-Passw0rd' "$base/acme/token"

rt="$(sso_refresh_token)"
record token_refresh_success.json yes 'POST /acme/token grant_type=refresh_token (EdgeIdP-OIDC, jsmith)' -- \
    "${form[@]}" --data "grant_type=refresh_token&client_id=EdgeIdP-OIDC&client_secret=acme-oidc-secret&refresh_token=$rt" \
    "$base/acme/token"
record token_error_refresh_reused.json yes 'same refresh token a second time' -- \
    "${form[@]}" --data "grant_type=refresh_token&client_id=EdgeIdP-OIDC&client_secret=acme-oidc-secret&refresh_token=$rt" \
    "$base/acme/token"
record token_error_refresh_unknown.json yes 'refresh grant, made-up refresh token' -- \
    "${form[@]}" --data 'grant_type=refresh_token&client_id=EdgeIdP-OIDC&client_secret=acme-oidc-secret&refresh_token=0123456789abcdef0123456789abcdef' \
    "$base/acme/token"
rt="$(sso_refresh_token)"
record token_error_invalid_client.json yes 'refresh grant, wrong client_secret' -- \
    "${form[@]}" --data "grant_type=refresh_token&client_id=EdgeIdP-OIDC&client_secret=wrong&refresh_token=$rt" \
    "$base/acme/token"
record token_error_bad_password.json yes 'password grant, wrong password' -- \
    "${form[@]}" --data 'grant_type=password&username=bwayne&password=wrong' "$base/acme/token"
record token_error_disabled_user.json yes 'password grant, disabled user' -- \
    "${form[@]}" --data 'grant_type=password&username=disabled&password=Member-Passw0rd' "$base/acme/token"
record token_error_unsupported_grant_type.json yes 'grant_type=client_credentials' -- \
    "${form[@]}" --data 'grant_type=client_credentials&client_id=EdgeIdP-OIDC&client_secret=acme-oidc-secret' \
    "$base/acme/token"
record token_error_invalid_request.json yes 'password grant without password' -- \
    "${form[@]}" --data 'grant_type=password&username=jsmith' "$base/acme/token"

# ---- /api (background account token) --------------------------------------------------------
token="$(curl -sS "${form[@]}" --data 'grant_type=password&username=edgeidp-service&password=Service-Passw0rd' \
    "$base/acme/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
auth=(-H "Authorization: Bearer $token")

record api_unauthorized.json yes 'GET /acme/api/User?UserName=jsmith without Authorization' -- \
    "$base/acme/api/User?UserName=jsmith"
record user_found.json yes 'GET /acme/api/User?UserName=jsmith' -- "${auth[@]}" "$base/acme/api/User?UserName=jsmith"
record user_not_found.json yes 'GET /acme/api/User?UserName=nobody' -- "${auth[@]}" "$base/acme/api/User?UserName=nobody"
record person.json yes 'GET /acme/api/Person/101' -- "${auth[@]}" "$base/acme/api/Person/101"
record party_by_uniformid.json yes 'GET /acme/api/Party?UniformId=87EAD15E-B188-42E8-AE48-E9B8C2B24C94' -- \
    "${auth[@]}" "$base/acme/api/Party?UniformId=87EAD15E-B188-42E8-AE48-E9B8C2B24C94"
record party_not_found.json yes 'GET /acme/api/Party/999999' -- "${auth[@]}" "$base/acme/api/Party/999999"
record cscontact.json yes 'GET /acme/api/CsContact/101' -- "${auth[@]}" "$base/acme/api/CsContact/101"
record iqa_profile.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=jsmith' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FProfile&Parameter=jsmith"
record iqa_profile_nulls.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=bwayne (null JoinDate, Chapter)' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FProfile&Parameter=bwayne"
record iqa_roles.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Roles&Parameter=tstark' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FRoles&Parameter=tstark"
record iqa_empty.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Roles&Parameter=nobody' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FRoles&Parameter=nobody"
record iqa_allcontacts_page1.json raw 'GET /acme/api/IQA?QueryName=$/EdgeIdP/AllContacts&Limit=500' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FAllContacts&Limit=500"
record iqa_allcontacts_page2.json raw 'GET /acme/api/IQA?QueryName=$/EdgeIdP/AllContacts&Limit=500&Offset=500' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FAllContacts&Limit=500&Offset=500"
record iqa_error_unknown_query.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/NoSuchQuery' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FNoSuchQuery"
record iqa_error_not_rest.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Internal/StaffNotes' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FInternal%2FStaffNotes"
record iqa_error_parameter_count.json yes 'GET /acme/api/IQA?QueryName=$/EdgeIdP/Profile (no Parameter)' -- \
    "${auth[@]}" "$base/acme/api/IQA?QueryName=%24%2FEdgeIdP%2FProfile"

# ---- globex (2017 paths) ---------------------------------------------------------------------
record globex_token_password_success.json yes 'POST /globex/Asi.Scheduler_iMIS/token grant_type=password (hsimpson)' -- \
    "${form[@]}" --data 'grant_type=password&username=hsimpson&password=Member-Passw0rd' \
    "$base/globex/Asi.Scheduler_iMIS/token"

echo "wrote $(ls "$here"/*.json | wc -l) files and $index"

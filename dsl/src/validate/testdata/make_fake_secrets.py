#!/usr/bin/env python3
"""Writes fake-secrets.tsv: realistically formatted FAKE secrets for the leak scanner's tests.

Every value has the documented prefix, alphabet and length of its format (and the
checksum where the format has one: GitHub tokens end in a CRC-32, age keys are bech32),
but its payload is pseudo-random from a fixed seed and, where the alphabet allows, spells
FAKE. None of them was ever issued by anyone. Run it from this folder; the output is
byte-stable.
"""
import base64, binascii, hashlib, hmac, json, random, string

rng = random.Random(19)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"
URLSAFE = string.ascii_letters + string.digits + "-_"


def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake(alphabet, n, marker="FAKE"):
    """n characters of `alphabet`, starting with `marker` where the alphabet has it."""
    if all(c in alphabet for c in marker) and n > len(marker):
        return marker + rand(alphabet, n - len(marker))
    return rand(alphabet, n)


def base62(n, width):
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = digits[r] + out
    return out.rjust(width, "0")


def github(prefix):
    body = fake(ALNUM, 30, "Fake")
    return prefix + body + base62(binascii.crc32(body.encode()), 6)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt():
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps({"sub": "fake-user-19", "iss": "stackdsl-test-corpus", "iat": 1764806400}, separators=(",", ":")).encode())
    sig = hmac.new(b"stackdsl-fake-signing-key", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def age_secret_key():
    hrp = "age-secret-key-"
    data = bytes(rng.randrange(256) for _ in range(32))
    acc, bits, groups = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            groups.append((acc >> bits) & 31)
    if bits:
        groups.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(expanded + groups + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return (hrp + "1" + "".join(BECH32[g] for g in groups + checksum)).upper()


def pem(kind):
    body = base64.b64encode(b"FAKE KEY for stackdsl tests, not a key: " + bytes(rng.randrange(256) for _ in range(48))).decode()
    return f"-----BEGIN {kind}-----\\n{body}\\n-----END {kind}-----\\n"


def service_account():
    return json.dumps({"type": "service_account", "project_id": "fake-project-19", "private_key_id": rand(HEX, 40)})


ENTRIES = [
    ("aws-access-key-id", "AKIA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    ("aws-access-key-id", "ASIA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    ("github-pat", github("ghp_")),
    ("github-fine-grained-pat", "github_pat_11" + fake(string.ascii_uppercase + string.digits, 20) + "_" + fake(ALNUM, 59, "Fake")),
    ("github-oauth-token", github("gho_")),
    ("github-app-token", github("ghs_")),
    ("github-refresh-token", github("ghr_")),
    ("gitlab-token", "glpat-" + fake(URLSAFE, 20, "Fake")),
    ("gitlab-token", "glrt-" + fake(URLSAFE, 20, "Fake")),
    ("slack-token", "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 13) + "-" + fake(ALNUM, 24, "Fake")),
    ("slack-token", "xoxp-" + rand(string.digits, 11) + "-" + rand(string.digits, 11) + "-" + rand(string.digits, 12) + "-" + rand(HEX, 32)),
    ("slack-webhook-url", "https://hooks.slack.com/services/T" + fake(string.ascii_uppercase + string.digits, 10) + "/B" + fake(string.ascii_uppercase + string.digits, 10) + "/" + fake(ALNUM, 24, "Fake")),
    ("stripe-live-key", "sk_live_51" + fake(ALNUM, 97, "Fake")),
    ("stripe-live-key", "rk_live_51" + fake(ALNUM, 97, "Fake")),
    ("stripe-test-key", "sk_test_" + fake(ALNUM, 24, "Fake")),
    ("stripe-webhook-secret", "whsec_" + fake(ALNUM, 32, "Fake")),
    ("google-api-key", "AIza" + fake(URLSAFE, 35, "Fake")),
    ("google-oauth-client-secret", "GOCSPX-" + fake(URLSAFE, 28, "Fake")),
    ("gcp-service-account", service_account()),
    ("jwt", jwt()),
    ("private-key", pem("RSA PRIVATE KEY")),
    ("private-key", pem("OPENSSH PRIVATE KEY")),
    ("openai-api-key", "sk-proj-" + fake(URLSAFE, 74, "Fake") + "T3BlbkFJ" + rand(URLSAFE, 74)),
    ("anthropic-api-key", "sk-ant-api03-" + fake(URLSAFE, 93, "Fake") + "AA"),
    ("npm-token", "npm_" + fake(ALNUM, 36, "Fake")),
    ("pypi-token", "pypi-AgEIcHlwaS5vcmc" + fake(URLSAFE, 70, "Fake")),
    ("sendgrid-api-key", "SG." + fake(URLSAFE, 22, "Fake") + "." + rand(URLSAFE, 43)),
    ("twilio-api-key", "SK" + rand(HEX, 32)),
    ("digitalocean-token", "dop_v1_" + rand(HEX, 64)),
    ("huggingface-token", "hf_" + fake(string.ascii_letters, 34, "Fake")),
    ("shopify-token", "shpat_" + rand(HEX, 32)),
    ("terraform-cloud-token", rand(string.ascii_lowercase + string.digits, 14) + ".atlasv1." + fake(URLSAFE, 67, "Fake")),
    ("vault-token", "hvs." + fake(URLSAFE, 91, "Fake")),
    ("databricks-token", "dapi" + rand(HEX, 32)),
    ("grafana-token", "glsa_" + fake(ALNUM, 32, "Fake") + "_" + rand(HEX, 8)),
    ("age-secret-key", age_secret_key()),
    ("linear-api-key", "lin_api_" + fake(ALNUM, 40, "Fake")),
    ("doppler-token", "dp.pt." + fake(ALNUM, 43, "Fake")),
    ("sentry-token", "sntryu_" + rand(HEX, 64)),
    ("mailchimp-api-key", rand(HEX, 32) + "-us21"),
    ("square-token", "sq0csp-" + fake(URLSAFE, 43, "Fake")),
    ("heroku-api-key", "HRKU-AA" + fake(URLSAFE, 58, "Fake")),
    ("postman-api-key", "PMAK-" + rand(HEX, 24) + "-" + rand(HEX, 34)),
    ("telegram-bot-token", str(rng.randrange(10**8, 10**10)) + ":AA" + fake(URLSAFE, 33, "Fake")),
    ("azure-ad-client-secret", rand(ALNUM, 3) + "8Q~" + fake(ALNUM + "~.-_", 34, "Fake")),
    ("new-relic-key", "NRAK-" + fake(string.ascii_uppercase + string.digits, 27)),
    # No format: only a secret-looking name (or URL position) gives them away.
    ("high-entropy-under-secret-key", rand(HEX, 64)),
    ("high-entropy-under-secret-key", rand(B64, 40)),
    ("high-entropy-under-secret-key", "q7/Zr+Lp2x/Wm9Kd" + rand(B64, 8)),
    ("high-entropy-under-secret-key", base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(32))).decode()),
    ("high-entropy-under-secret-key", "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12))),
]

with open("fake-secrets.tsv", "w") as f:
    f.write("# rule<TAB>fake secret; generated by make_fake_secrets.py (fixed seed). None of these was ever issued.\n")
    for rule, value in ENTRIES:
        assert "\t" not in value and "\n" not in value and "@" not in value and "'" not in value and "$" not in value, value
        f.write(f"{rule}\t{value}\n")
print(len(ENTRIES), "entries")

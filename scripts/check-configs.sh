#!/usr/bin/env bash
# Every configuration file the repo ships passes `sluice check-config` with the environment it is
# used with: each docker-compose.yml service that runs sluice with its own `environment`
# (`${VAR:?…}` given a sample value, `${VAR:-default}` its default) and the file its volume
# mounts at SLUICE_CONFIG; and sluice.example.toml with a placeholder for every `env:NAME` it
# reads. Nothing here runs Docker: compose's file is read with PyYAML.
#
#   scripts/check-configs.sh            # builds sluice (debug) first
#   SLUICE_BIN=/path/to/sluice scripts/check-configs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build --locked --quiet --bin sluice
  SLUICE_BIN="${CARGO_TARGET_DIR:-target}/debug/sluice"
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet --user pyyaml

SLUICE_BIN="$SLUICE_BIN" python3 - <<'PY'
import base64, os, re, subprocess, sys, tempfile
import yaml

binary = os.path.abspath(os.environ["SLUICE_BIN"])
# Values for what compose requires (`${VAR:?…}`): what an operator would be told to set.
samples = {"SLUICE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
reference = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")

def interpolate(value, where):
    def one(match):
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        if name in samples:
            return samples[name]
        if kind in (":-", "-"):
            return rest
        if kind in (":?", "?"):
            sys.exit(f"{where}: `{name}` is required by docker-compose.yml: add a sample value for it to scripts/check-configs.sh")
        return ""
    return reference.sub(one, str(value))

def check(name, config, env):
    with tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ["PATH"], "SLUICE_DATA_DIR": data, **env, "SLUICE_CONFIG": config}
        done = subprocess.run([binary, "check-config"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{name}: `sluice check-config` refused {config}:\n{done.stdout}{done.stderr}")
    print(f"{name}: {config}: {(done.stdout + done.stderr).strip().splitlines()[-1]}")

compose = yaml.safe_load(open("docker-compose.yml"))
checked = 0
for service, spec in compose["services"].items():
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    if "SLUICE_CONFIG" not in env:
        continue
    env = {key: interpolate(value, f"services.{service}.environment.{key}") for key, value in env.items()}
    inside = env.pop("SLUICE_CONFIG")
    mounted = [volume.split(":") for volume in spec.get("volumes", []) if isinstance(volume, str)]
    config = next((host for host, target, *_ in mounted if target == inside), None)
    if config is None:
        sys.exit(f"services.{service}: SLUICE_CONFIG is {inside}, which no volume mounts")
    # The nodes reach Postgres and Redis by service name: check-config reads, never connects.
    check(f"services.{service}", os.path.normpath(config), env)
    checked += 1
if checked == 0:
    sys.exit("docker-compose.yml: no service runs sluice with SLUICE_CONFIG")

example = "sluice.example.toml"
names = set(re.findall(r'^[^#\n]*"env:(\w+)"', open(example).read(), re.M))
check(example, example, {name: f"placeholder-{name.lower()}" for name in sorted(names)})
PY

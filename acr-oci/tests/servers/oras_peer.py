"""ORAS (the `oras` Python SDK from PyPI, oras-project/oras-py) as an independent peer for acr-oci's Flux
artifact tests: it pulls what azflux pushed, and pushes an artifact azflux pulls back.

Credentials come from ORAS_PEER_{HOST,USER,PASSWORD}; the registry speaks plain HTTP on loopback and uses
token auth (oras-py asks the realm for a bearer token with the basic credentials).
Commands:
  pull REPO:TAG OUTDIR     prints JSON {manifest_digest, manifest, layer_file, layer_sha256, files}
                           (files: every regular file of the extracted tarball -> sha256 of its bytes)
  push REPO:TAG FILE...    pushes the files as layers (oras' default layout); prints {manifest_digest}
"""
import hashlib
import json
import os
import sys
import tarfile

import oras.auth.utils
import oras.provider
import requests


def registry():
    host = os.environ["ORAS_PEER_HOST"]
    r = oras.provider.Registry(hostname=host, insecure=True, auth_backend="token")
    r.login(username=os.environ["ORAS_PEER_USER"], password=os.environ["ORAS_PEER_PASSWORD"],
            hostname=host)
    return r, host


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def pull(target, outdir):
    r, host = registry()
    ref = f"{host}/{target}"
    container = r.get_container(ref)
    manifest = r.get_manifest(container)
    # The digest of the exact bytes the registry serves (fetched independently of our client).
    resp = r.do_request(f"{r.prefix}://{container.manifest_url()}", "GET",
                        headers={"Accept": manifest.get("mediaType",
                                                         "application/vnd.oci.image.manifest.v1+json")})
    manifest_digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
    files = r.pull(target=ref, outdir=outdir)
    layer_file = files[0]
    extracted = {}
    with tarfile.open(layer_file, "r:gz") as tf:
        for member in tf.getmembers():
            if member.isfile():
                data = tf.extractfile(member).read()
                extracted[member.name] = "sha256:" + hashlib.sha256(data).hexdigest()
    print(json.dumps({
        "manifest_digest": manifest_digest,
        "manifest": manifest,
        "layer_sha256": sha256_file(layer_file),
        "files": extracted,
    }))


def push_token(r, host, repository):
    """oras-py's token auth keeps one token for every scope, so a push after a pull-scoped request keeps
    failing; ask the realm (with the same basic credentials) for a pull,push token up front."""
    challenge = requests.get(f"http://{host}/v2/").headers["Www-Authenticate"]
    h = oras.auth.utils.parse_auth_header(challenge)
    resp = requests.get(h.realm, params={"service": h.service,
                                         "scope": f"repository:{repository}:pull,push"},
                        auth=(os.environ["ORAS_PEER_USER"], os.environ["ORAS_PEER_PASSWORD"]))
    resp.raise_for_status()
    body = resp.json()
    r.auth.set_token_auth(body.get("token") or body.get("access_token"))


def push(target, paths):
    r, host = registry()
    ref = f"{host}/{target}"
    push_token(r, host, target.rsplit(":", 1)[0])
    resp = r.push(target=ref, files=paths, disable_path_validation=True)
    print(json.dumps({"status": resp.status_code,
                      "manifest_digest": resp.headers.get("Docker-Content-Digest")}))


def main(argv):
    cmd = argv[1]
    if cmd == "pull":
        pull(argv[2], argv[3])
    elif cmd == "push":
        push(argv[2], argv[3:])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)

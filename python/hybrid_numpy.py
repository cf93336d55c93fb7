"""A hybrid byte model, rebuilt with numpy alone from the folder `hybrid export` writes.

    import hybrid_numpy
    model = hybrid_numpy.load("runs/tiny/checkpoint-000400-export")
    logits = model.logits(list(b"ROMEO:"))          # [6, 256], causal attention
    logits = model.logits(ids, mask="bidirectional")  # as the masked objective reads

or from the shell, the next byte after a prompt:

    python3 python/hybrid_numpy.py FOLDER --text "ROMEO:"

The arithmetic is hybrid's (Sources/HybridNN/Backbone.swift): x = tok_emb[ids] + pos_emb[:T];
per block x += proj(attn(LN1(x))); x += fc2(GELU(fc1(LN2(x)))); logits = head(LN_f(x)), with
y = x·Wᵀ + b for every linear, GELU's tanh approximation, and qkv holding q | k | v. It runs in
float64, so it is a reference for hybrid's float32 logits.
"""

import argparse
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    """Every tensor of a .safetensors file, by name (F32 only, as hybrid writes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}; expected F32")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(entry["shape"])
    return tensors


class ByteModel:
    def __init__(self, config, tensors):
        self.config = config
        self.w = {name: t.astype(np.float64) for name, t in tensors.items()}

    def _linear(self, x, name):
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    def _layer_norm(self, x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        eps = self.config["layer_norm_eps"]
        return (x - mean) / np.sqrt(var + eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    @staticmethod
    def _gelu(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    def _attention(self, qkv, causal):
        T, C3 = qkv.shape
        C, H = C3 // 3, self.config["heads"]
        D = C // H
        q, k, v = (qkv[:, i * C:(i + 1) * C].reshape(T, H, D).transpose(1, 0, 2) for i in range(3))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(D)
        if causal:
            scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
        scores -= scores.max(-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(-1, keepdims=True)
        return (p @ v).transpose(1, 0, 2).reshape(T, C)

    def logits(self, ids, mask="causal"):
        """[len(ids), 256] byte logits; `mask` is "causal" or "bidirectional"."""
        if mask not in ("causal", "bidirectional"):
            raise ValueError(f"mask must be causal or bidirectional, not {mask!r}")
        ids = np.asarray(ids, dtype=np.int64)
        T = len(ids)
        if not 0 < T <= self.config["max_positions"]:
            raise ValueError(f"{T} tokens; the model reads 1 to {self.config['max_positions']}")
        if ids.min() < 0 or ids.max() >= self.config["vocabulary"]:
            raise ValueError(f"token ids must lie in 0..<{self.config['vocabulary']}")
        x = self.w["tok_emb.weight"][ids] + self.w["pos_emb.weight"][:T]
        for layer in range(self.config["layers"]):
            p = f"blocks.{layer}"
            qkv = self._linear(self._layer_norm(x, p + ".ln1"), p + ".qkv")
            x = x + self._linear(self._attention(qkv, mask == "causal"), p + ".proj")
            up = self._gelu(self._linear(self._layer_norm(x, p + ".ln2"), p + ".fc1"))
            x = x + self._linear(up, p + ".fc2")
        return self._linear(self._layer_norm(x, "ln_f"), "head")


def load(folder):
    """The byte model in `folder` (model.safetensors and config.json, as `hybrid export` writes)."""
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    if config.get("format") != "hybrid-export-1":
        raise ValueError(f"{folder}/config.json: format {config.get('format')!r}; this reader knows hybrid-export-1")
    return ByteModel(config, read_safetensors(f"{folder}/model.safetensors"))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Byte logits of a model `hybrid export` wrote, with numpy alone.")
    parser.add_argument("folder")
    parser.add_argument("--text", required=True, help="the bytes to read (UTF-8)")
    parser.add_argument("--mask", default="causal", choices=["causal", "bidirectional"])
    parser.add_argument("--logits-out", help="also write the logits as float32 [T, 256], little-endian, row-major")
    args = parser.parse_args(argv)
    model = load(args.folder)
    logits = model.logits(list(args.text.encode()), mask=args.mask)
    if args.logits_out:
        logits.astype("<f4").tofile(args.logits_out)
    last = logits[-1] - logits[-1].max()
    probs = np.exp(last) / np.exp(last).sum()
    for b in np.argsort(-probs)[:5]:
        print(f"{bytes([b])!r:>8} {probs[b]:.4f}")


if __name__ == "__main__":
    sys.exit(main())

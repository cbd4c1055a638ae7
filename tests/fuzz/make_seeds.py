#!/usr/bin/env python3
"""Writes the small seed inputs of the model and tokenizer fuzz targets into
tests/fuzz/corpus/: a GGUF v3 llama model (f32, embedded vocabulary), llama2.c
checkpoints (v0 shared and unshared classifier) and a llama2.c tokenizer, all
of dim 8, one layer, 8 tokens: a few kilobytes each, so that mutations reach
every field. The real models in ../shared are seeds too (tests/fuzz.cmake).

usage: tests/fuzz/make_seeds.py   (from the repository root)"""
import os
import random
import struct

DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ = 8, 16, 1, 2, 2, 8, 8
KV_DIM = DIM // HEADS * KV_HEADS
TOKENS = [b"<unk>", b"<s>", b"</s>", b" a", b"b", b"<0x0A>", b" ab", b"ba"]
rnd = random.Random(1)
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def floats(n):
    return struct.pack("<%df" % n, *[rnd.uniform(-0.5, 0.5) for _ in range(n)])


def gguf_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf(tied):
    kv = []

    def u32(k, v):
        kv.append(gguf_str(k) + struct.pack("<II", 4, v))

    def f32(k, v):
        kv.append(gguf_str(k) + struct.pack("<If", 6, v))

    def string(k, v):
        kv.append(gguf_str(k) + struct.pack("<I", 8) + gguf_str(v))

    def array(k, typ, items):
        kv.append(gguf_str(k) + struct.pack("<IIQ", 9, typ, len(items)) + b"".join(items))

    string("general.architecture", "llama")
    u32("general.alignment", 32)
    u32("llama.context_length", SEQ)
    u32("llama.embedding_length", DIM)
    u32("llama.feed_forward_length", HIDDEN)
    u32("llama.block_count", LAYERS)
    u32("llama.attention.head_count", HEADS)
    u32("llama.attention.head_count_kv", KV_HEADS)
    f32("llama.rope.freq_base", 10000.0)
    f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    string("tokenizer.ggml.model", "llama")
    array("tokenizer.ggml.tokens", 8, [gguf_str(t) for t in TOKENS])
    array("tokenizer.ggml.scores", 6, [struct.pack("<f", -float(i)) for i in range(VOCAB)])
    array("tokenizer.ggml.token_type", 5, [struct.pack("<i", 6 if t.startswith(b"<0x") else 1) for t in TOKENS])
    u32("tokenizer.ggml.bos_token_id", 1)
    u32("tokenizer.ggml.eos_token_id", 2)
    tensors = [("token_embd.weight", [DIM, VOCAB]), ("output_norm.weight", [DIM])]
    if not tied:
        tensors.append(("output.weight", [DIM, VOCAB]))
    for l in range(LAYERS):
        tensors += [("blk.%d.attn_norm.weight" % l, [DIM]), ("blk.%d.ffn_norm.weight" % l, [DIM]),
                    ("blk.%d.attn_q.weight" % l, [DIM, DIM]), ("blk.%d.attn_k.weight" % l, [DIM, KV_DIM]),
                    ("blk.%d.attn_v.weight" % l, [DIM, KV_DIM]), ("blk.%d.attn_output.weight" % l, [DIM, DIM]),
                    ("blk.%d.ffn_gate.weight" % l, [DIM, HIDDEN]), ("blk.%d.ffn_down.weight" % l, [HIDDEN, DIM]),
                    ("blk.%d.ffn_up.weight" % l, [DIM, HIDDEN])]
    infos, data = [], b""
    for name, dims in tensors:
        n = 1
        for d in dims:
            n *= d
        infos.append(gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                     + struct.pack("<IQ", 0, len(data)))
        data += floats(n)
        data += b"\0" * (-len(data) % 32)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv) + b"".join(infos)
    return head + b"\0" * (-len(head) % 32) + data


def llama2c(shared):
    n = VOCAB * DIM + LAYERS * (2 * DIM + 2 * DIM * DIM + 2 * DIM * KV_DIM + 3 * DIM * HIDDEN) + DIM
    n += SEQ * (DIM // HEADS)          # freq_cis_real and freq_cis_imag, seq * head_size / 2 each
    if not shared:
        n += VOCAB * DIM
    return struct.pack("<7i", DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB if shared else -VOCAB, SEQ) + floats(n)


def tokenizer():
    out = struct.pack("<i", max(len(t) for t in TOKENS))
    for i, t in enumerate(TOKENS):
        out += struct.pack("<fi", -float(i), len(t)) + t
    return out


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


write("gguf", "tiny-tied.gguf", gguf(True))
write("gguf", "tiny-untied.gguf", gguf(False))
write("llama2c", "tiny-shared.bin", llama2c(True))
write("llama2c", "tiny-unshared.bin", llama2c(False))
write("tokenizer", "tiny-8.bin", tokenizer())

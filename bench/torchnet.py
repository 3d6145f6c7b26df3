#!/usr/bin/env python3
"""Train a residual MLP of the published family with PyTorch itself and cut it into a puzzle.

A cross-check for the hard suite (bench/hard-torch.txt, run by bench/hard.sh): humpty's own
trainer mirrors PyTorch's rules, but a user's network comes from PyTorch, so some puzzles should
too. Not part of the product, its tests or CI; needs python3 with torch (bench/hard.sh skips the
line, and says so, without it).

    python3 bench/torchnet.py -o DIR --blocks 32 --dim 24 --hidden 48 --rows 4000 --epochs 40 \
        --optimizer adam --lr 0.001 --seed 1

writes DIR/pieces/piece_<k>.pth (each Linear's state_dict, shuffled), DIR/historical_data.csv
(measurement_0.., pred, true) and DIR/answer.txt (the right assembly, for scoring only). The
network: x = x + out(relu(inp(x))) per block, then Linear(d -> 1), nn.Linear's default
initialisation (--zero-bias: biases from zero); trained on y = sin(2 x.a) + (x.b)^2 / 2 + noise with mini-batches of 64.
"""
import argparse
import os
import random

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", dest="out", required=True)
    p.add_argument("--blocks", type=int, default=32)
    p.add_argument("--dim", type=int, default=24)
    p.add_argument("--hidden", type=int, default=48)
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--momentum", type=float, default=0.9, help="SGD only")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--zero-bias", action="store_true", help="every bias starts at zero")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)  # the same network on any machine with the same torch
    d, h = a.dim, a.hidden

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.out = torch.nn.Linear(d, h), torch.nn.Linear(h, d)

        def forward(self, x):
            return x + self.out(torch.relu(self.inp(x)))

    blocks = torch.nn.ModuleList([Block() for _ in range(a.blocks)])
    last = torch.nn.Linear(d, 1)
    if a.zero_bias:
        with torch.no_grad():
            for layer in [m for b in blocks for m in (b.inp, b.out)] + [last]:
                layer.bias.zero_()

    def net(x):
        for b in blocks:
            x = b(x)
        return last(x).squeeze(1)

    x = torch.randn(a.rows, d)
    u, v = torch.randn(d) / d**0.5, torch.randn(d) / d**0.5
    y = torch.sin(2 * x @ u) + 0.5 * (x @ v) ** 2 + 0.1 * torch.randn(a.rows)
    params = list(blocks.parameters()) + list(last.parameters())
    opt = {"adam": lambda: torch.optim.Adam(params, lr=a.lr),
           "adamw": lambda: torch.optim.AdamW(params, lr=a.lr),
           "sgd": lambda: torch.optim.SGD(params, lr=a.lr, momentum=a.momentum)}[a.optimizer]()
    for _ in range(a.epochs):
        order = torch.randperm(a.rows)
        for i in range(0, a.rows, 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            ((net(x[idx]) - y[idx]) ** 2).mean().backward()
            opt.step()
    with torch.no_grad():
        pred = net(x)
    if not torch.isfinite(pred).all():
        raise SystemExit("torchnet: training diverged (try a smaller --lr)")

    layers = [layer for b in blocks for layer in (b.inp, b.out)] + [last]
    where = list(range(len(layers)))
    random.Random(a.seed).shuffle(where)  # layer i is piece where[i]
    os.makedirs(os.path.join(a.out, "pieces"), exist_ok=True)
    for i, layer in enumerate(layers):
        torch.save(layer.state_dict(), os.path.join(a.out, "pieces", f"piece_{where[i]}.pth"))
    with open(os.path.join(a.out, "answer.txt"), "w") as f:
        f.write(",".join(str(k) for k in where) + "\n")
    with open(os.path.join(a.out, "historical_data.csv"), "w") as f:
        f.write(",".join([f"measurement_{j}" for j in range(d)] + ["pred", "true"]) + "\n")
        for r in range(a.rows):  # repr of the float32 values as doubles: exact
            f.write(",".join(repr(float(t)) for t in x[r].tolist()) + f",{float(pred[r])!r},{float(y[r])!r}\n")


if __name__ == "__main__":
    main()

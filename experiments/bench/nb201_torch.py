#!/usr/bin/env python3
"""PyTorch twin of experiments/bench/bench_nb201.c: the NAS-Bench-201 network with the cell
|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|,
stem conv3x3 + BN, C=16, one cell per stage, ResNet reduction blocks, BN-ReLU-GAP-linear head,
28x28x1 input, batch 64, SGD with momentum. Prints one JSON line with images/s.

Run with Debian's python3-torch: /usr/bin/python3 nb201_torch.py --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                         nn.BatchNorm2d(cout))


class Cell(nn.Module):
    """node1 = conv3(n0); node2 = conv3(n0) + avgpool(n1); node3 = n0 + conv3(n1) + conv1(n2)"""

    def __init__(self, c):
        super().__init__()
        self.e01 = ReLUConvBN(c, c, 3, 1, 1)
        self.e02 = ReLUConvBN(c, c, 3, 1, 1)
        self.e12 = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.e13 = ReLUConvBN(c, c, 3, 1, 1)
        self.e23 = ReLUConvBN(c, c, 1, 1, 0)

    def forward(self, x):
        n1 = self.e01(x)
        n2 = self.e02(x) + self.e12(n1)
        return x + self.e13(n1) + self.e23(n2)


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.short = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.short(x) + self.b(self.a(x))


def network(c=16, n=1, classes=10):
    layers = [nn.Conv2d(1, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)]
    for stage in range(3):
        cs = c << stage
        if stage > 0:
            layers.append(ResBlock(cs // 2, cs))
        layers += [Cell(cs) for _ in range(n)]
    layers += [nn.BatchNorm2d(4 * c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(4 * c, classes)]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--C", type=int, default=16)
    ap.add_argument("--N", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0, help="time budget per measurement")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = network(args.C, args.N)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    def fwd_step():
        with torch.no_grad():
            net(x)

    def measure(step):
        for _ in range(3):
            step()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            step()
            n += 1
        return n * args.batch / (time.perf_counter() - t0)

    net.train()
    train = measure(train_step)
    net.eval()
    fwd = measure(fwd_step)
    print(json.dumps({"impl": "pytorch", "version": torch.__version__, "threads": args.threads,
                      "train_img_s": round(train, 1), "fwd_img_s": round(fwd, 1)}))


if __name__ == "__main__":
    main()

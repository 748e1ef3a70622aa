"""Runnable PyTorch networks for the cells of each space.

``nets.nb201`` builds the NAS-Bench-201 CIFAR network and ``nets.nb101`` the
NAS-Bench-101 one, exactly as the benchmarks trained them (trainable parameter
counts equal the benchmarks' ``params`` columns). Needs ``torch``; the rest of
nasviz does not import this package.
"""

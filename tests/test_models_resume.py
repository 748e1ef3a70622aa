"""Long latent-model runs survive an interruption: the per-epoch training state and ``--resume``.

A run is interrupted in the middle of its third epoch (as a kill would stop it) and resumed from the
state written after epoch two; the resumed model must be bit-identical to an uninterrupted run. The
arch2vec variant uses decoder dropout (the global torch RNG) and gradient clipping, the beta-VAE a KL
warm-up that reads the optimizer step count and a cosine learning rate: each would drift if its state
were not restored.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasviz.errors import DataFileError, NasvizError
from nasviz.models import Arch2Vec, BetaVAE
from nasviz.models._base import read_train_state
from nasviz.spaces.nb201 import NB201Space

torch.set_num_threads(1)

CELLS = list(NB201Space().enumerate())[:200:2]  # 100 cells, batch 16: 7 steps per epoch
ACC = np.where(np.arange(100) % 3 == 0, np.linspace(50, 90, 100), np.nan)
FLOPS = np.linspace(10, 200, 100)


class Interrupted(Exception):
    pass


def _a2v():
    return Arch2Vec(gin_dims=(16, 16, 16, 16), latent_dim=4, mlp_layers=2, dropout=0.3, recon="bce_mean",
                    kl_reduction="authors", grad_clip=5.0, node_position=True, epochs=4, batch_size=16, seed=3)


def _bvae():
    return BetaVAE(latent_dim=4, hidden=8, embed_dim=4, epochs=4, batch_size=16, seed=3, dec_position=True,
                   kl_warmup=20, lr=3e-3, lr_final=1e-4)


def _fit(est):
    return est.fit(CELLS) if isinstance(est, Arch2Vec) else est.fit(CELLS, acc=ACC, flops=FLOPS)


def _interrupt_at(est, at_step: int):
    """Make ``est`` raise in the middle of training, after ``at_step`` optimizer steps."""
    loop = est._train_loop

    def wrapped(model, n, step, **kw):
        def step2(idx, gen):
            if est.step_ > at_step:
                raise Interrupted
            return step(idx, gen)
        return loop(model, n, step2, **kw)

    est._train_loop = wrapped


@pytest.mark.parametrize("make", [_a2v, _bvae], ids=["arch2vec", "beta-vae"])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, make):
    whole = _fit(make())
    state = tmp_path / "train_state.pt"
    first = make()
    first.state_path = state
    _interrupt_at(first, 17)  # 7 steps per epoch: stops during epoch 3, after the state of epoch 2
    with pytest.raises(Interrupted):
        _fit(first)
    st = read_train_state(state, first.kind)
    assert st["epochs_done"] == 2 and st["steps"] == 14 and len(st["history"]) == 2
    second = make()
    second.state_path, second.resume = state, True
    _fit(second)
    assert second.history_ == whole.history_
    assert second.step_ == whole.step_ == 28
    a, b = whole.model_.state_dict(), second.model_.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert len(second.epoch_cpu_seconds_) == 4 and all(s >= 0 for s in second.epoch_cpu_seconds_)
    np.testing.assert_array_equal(whole.transform(CELLS[:20]), second.transform(CELLS[:20]))


def test_resume_refuses_another_run_and_a_corrupt_state(tmp_path):
    state = tmp_path / "train_state.pt"
    est = _bvae()
    est.state_path = state
    _fit(est)
    other = BetaVAE(latent_dim=4, hidden=8, embed_dim=4, epochs=4, batch_size=16, seed=4, dec_position=True,
                    kl_warmup=20, lr=3e-3, lr_final=1e-4)
    other.state_path, other.resume = state, True
    with pytest.raises(NasvizError, match="another training run"):
        _fit(other)
    a2v = _a2v()
    a2v.state_path, a2v.resume = state, True
    with pytest.raises(DataFileError, match="training state of a beta-vae model"):
        _fit(a2v)
    state.write_bytes(state.read_bytes()[:100])
    again = _bvae()
    again.state_path, again.resume = state, True
    with pytest.raises(DataFileError, match="corrupt"):
        _fit(again)
    with pytest.raises(DataFileError, match="no training state"):
        read_train_state(tmp_path / "missing.pt")


def test_a_state_written_before_a_config_field_existed_resumes_with_its_default(tmp_path):
    """A state saved before arch2vec had ``mmd_weight`` (its config lacks the field) resumes a run that leaves it at
    its default, bit-identically; a run that sets it is another run."""
    whole = _fit(_a2v())
    state = tmp_path / "train_state.pt"
    first = _a2v()
    first.state_path = state
    _interrupt_at(first, 17)
    with pytest.raises(Interrupted):
        _fit(first)
    st = torch.load(state, weights_only=False)
    del st["config"]["mmd_weight"]  # as written before the field existed
    torch.save(st, state)
    second = _a2v()
    second.state_path, second.resume = state, True
    _fit(second)
    assert second.history_ == whole.history_
    other = _a2v()
    other.config.mmd_weight = 1.0
    other.state_path, other.resume = state, True
    with pytest.raises(NasvizError, match="another training run"):
        _fit(other)

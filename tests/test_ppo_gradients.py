"""The hand-written PPO gradient against autograd on the same loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from simcore.neural import make_network
from simcore.ppo_gradients import (
    Minibatch,
    Network,
    clip_norm_,
    flat_gradients,
    loss_gradients,
)

CLIP, ENT, VF = 0.2, 0.01, 0.5


def autograd_loss(actor, critic, batch, normalize):
    """The PPO loss written with autograd, as CleanRL writes it."""
    log_all = torch.log_softmax(actor(batch.inputs), dim=1)
    log_ratio = log_all.gather(1, batch.actions[:, None])[:, 0] - batch.log_probs
    ratio = log_ratio.exp()
    advantages = batch.advantages
    if normalize:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = torch.max(
        -advantages * ratio, -advantages * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)
    ).mean()
    entropy = -(log_all.exp() * log_all).sum(dim=1).mean()
    value_loss = 0.5 * ((critic(batch.inputs)[:, 0] - batch.targets) ** 2).mean()
    return policy_loss - ENT * entropy + VF * value_loss, policy_loss, value_loss


def random_batch(generator, size, inputs, actions, actor):
    x = torch.rand(size, inputs, generator=generator)
    chosen = torch.randint(0, actions, (size,), generator=generator)
    with torch.no_grad():
        current = torch.log_softmax(actor(x), dim=1).gather(1, chosen[:, None])[:, 0]
    # Old log-probabilities near the current ones, so that some ratios fall outside
    # the clip range on both sides and some inside.
    old = current + 0.4 * torch.randn(size, generator=generator)
    return Minibatch(
        inputs=x,
        actions=chosen,
        log_probs=old,
        advantages=torch.randn(size, generator=generator) * 3 + 1,
        targets=torch.randn(size, generator=generator) * 5,
    )


@pytest.mark.parametrize(
    "hidden, activation, actions, normalize",
    [
        ([64, 64], "tanh", 2, True),
        ([32], "relu", 3, False),
        ([16, 8, 4], "tanh", 5, False),
        ([64, 64], "relu", 2, True),
    ],
)
def test_gradient_matches_autograd(hidden, activation, actions, normalize):
    generator = torch.Generator().manual_seed(7)
    torch.manual_seed(3)
    inputs = 4
    actor = make_network(inputs, actions, hidden, activation)
    critic = make_network(inputs, 1, hidden, activation)
    batch = random_batch(generator, 256, inputs, actions, actor)

    loss, policy_loss, value_loss = autograd_loss(actor, critic, batch, normalize)
    parameters = [*actor.parameters(), *critic.parameters()]
    expected = torch.autograd.grad(loss, parameters)

    flat_gradients(parameters)
    terms = loss_gradients(
        Network(actor), Network(critic), batch, CLIP, ENT, VF, normalize
    )
    for name, got, want in zip(
        [n for n, _ in actor.named_parameters()]
        + [n for n, _ in critic.named_parameters()],
        [p.grad for p in parameters],
        expected,
    ):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6), name
    assert terms.policy_loss.item() == pytest.approx(policy_loss.item(), rel=1e-5)
    assert terms.value_loss.item() == pytest.approx(value_loss.item(), rel=1e-5)
    # The batch has ratios on both sides of the clip range.
    assert 0.2 < terms.clip_fraction.item() < 0.9


def test_gradient_overwritten_not_accumulated():
    generator = torch.Generator().manual_seed(1)
    actor, critic = make_network(3, 2, [8], "tanh"), make_network(3, 1, [8], "tanh")
    batch = random_batch(generator, 64, 3, 2, actor)
    parameters = [*actor.parameters(), *critic.parameters()]
    buffer = flat_gradients(parameters)
    loss_gradients(Network(actor), Network(critic), batch, CLIP, ENT, VF, True)
    first = buffer.clone()
    loss_gradients(Network(actor), Network(critic), batch, CLIP, ENT, VF, True)
    assert torch.equal(buffer, first)


def test_clip_norm_matches_torch():
    generator = torch.Generator().manual_seed(2)
    parameters = [nn.Parameter(torch.zeros(5, 3)), nn.Parameter(torch.zeros(7))]
    buffer = flat_gradients(parameters)
    buffer.copy_(torch.randn(buffer.numel(), generator=generator) * 4)
    copies = [nn.Parameter(p.detach().clone()) for p in parameters]
    for copy, p in zip(copies, parameters):
        copy.grad = p.grad.clone()
    expected_norm = nn.utils.clip_grad_norm_(copies, 0.5)
    norm = clip_norm_(buffer, 0.5)
    assert norm.item() == pytest.approx(expected_norm.item(), rel=1e-6)
    for copy, p in zip(copies, parameters):
        assert torch.allclose(copy.grad, p.grad, rtol=1e-6, atol=1e-7)
    # A norm under the limit leaves the gradient as it is.
    before = buffer.clone()
    clip_norm_(buffer, 1e6)
    assert torch.equal(buffer, before)


@pytest.mark.parametrize(
    "layers",
    [
        [nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)],
        [nn.Linear(2, 3), nn.Linear(3, 1)],
        [nn.Linear(2, 3), nn.Tanh()],
        [nn.Linear(2, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 1)],
        [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)],
    ],
)
def test_other_layouts_rejected(layers):
    with pytest.raises(ValueError, match="one Tanh or ReLU between each two"):
        Network(nn.Sequential(*layers))


def test_forward_outside_no_grad():
    network = make_network(3, 2, [4], "tanh")
    x = torch.rand(5, 3)

    output = Network(network).forward(x)[-1]

    assert torch.allclose(output, network(x).detach(), atol=1e-6)


def test_single_row_minibatch_not_normalised():
    generator = torch.Generator().manual_seed(4)
    actor, critic = make_network(3, 2, [8], "tanh"), make_network(3, 1, [8], "tanh")
    batch = random_batch(generator, 1, 3, 2, actor)
    parameters = [*actor.parameters(), *critic.parameters()]
    expected = torch.autograd.grad(
        autograd_loss(actor, critic, batch, normalize=False)[0], parameters
    )

    buffer = flat_gradients(parameters)
    loss_gradients(Network(actor), Network(critic), batch, CLIP, ENT, VF, True)

    assert torch.isfinite(buffer).all()
    for got, want in zip([p.grad for p in parameters], expected):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)

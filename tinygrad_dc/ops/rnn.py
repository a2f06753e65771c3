"""Recurrent sequence loops as single ops: one node per layer and direction.

A recurrent layer spends its time in a loop over time steps. Written with
Tensor ops, each step would record a dozen graph nodes and pay their Python
cost twice (forward and backward). Here the whole loop of one layer in one
direction is one op: forward runs the recurrence on raw arrays and keeps the
gate activations; backward runs back-propagation through time on raw
arrays, with every weight gradient taken as one large matmul after the loop.

The input projection `x @ W_ih.T + b_ih` is not part of these ops: the layer
computes it for all time steps with one matmul (an ordinary `Linear` op)
before calling them, and gets its gradients from that op.

Inputs (all arrays of one dtype), arranged time-major:
    xg      (L, N, G)  input projections, G = gates * H
    w_hh    (G, H)     recurrent weight
    h0, c0  (N, H)     initial states (c0 for the LSTM only)
    b_hh    (G,)       recurrent bias, optional (last input)
`reverse=True` runs from the last time step to the first (the backward
direction of a bidirectional layer); outputs stay in time order. L >= 1
(the layers check it).

Outputs: the hidden state at every step (L, N, H), the final hidden state
(N, H) and, for the LSTM, the final cell state (N, H).

Gate layout is PyTorch's: LSTM i, f, g, o; GRU r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
import weakref

from ..autograd import function as _function
from ..autograd.function import Op, check_same_device
from ..autograd.grad_mode import _state


class _RecurrentOp(Op):
    """Base of the loop ops: several outputs, each a tensor of its own."""
    saves_inputs = True
    # backward reads output 0 (the hidden states): the engine refuses to
    # run it if that tensor was written in place since
    saves_output = True

    @classmethod
    def apply(cls, *inputs, **params):
        backend = check_same_device(inputs)
        node = object.__new__(cls)
        node.backend = backend
        outputs = node.forward(*[t._data for t in inputs], **params)
        make = _function._Tensor._make
        if not (_state.enabled and any(t._requires_grad for t in inputs)):
            return tuple(make(o, backend, None) for o in outputs)
        node.parents = inputs
        node.needs_grad = tuple(t._requires_grad for t in inputs)
        node.versions = tuple(t._version for t in inputs)
        node.freed = False
        results = []
        for index, o in enumerate(outputs):
            t = make(o, backend, node)
            t._out_index = index
            results.append(t)
        node.output = (weakref.ref(results[0]), outputs[0])
        return tuple(results)

    def fill_missing(self, grads):
        # an output nobody used has no gradient: backward takes None for it
        # rather than a freshly allocated array of zeros
        return grads

    def _steps(self, length):
        """The time indices in the order the recurrence visits them."""
        return range(length - 1, -1, -1) if self.reverse else range(length)

    def _steps_back(self, length):
        """The time indices in the order back-propagation visits them."""
        return range(length) if self.reverse else range(length - 1, -1, -1)

    def _previous_hidden(self, hs, h0):
        """(L, N, H): the hidden state each step started from."""
        xp = self.backend.xp
        if self.reverse:
            return xp.concatenate([hs[1:], h0[None]], axis=0)
        return xp.concatenate([h0[None], hs[:-1]], axis=0)

    def _weight_grads(self, dgates, hs, h0):
        """Gradients of W_hh and b_hh from the pre-activation gradients of
        the recurrent product at every step, in one matmul each."""
        G, H = dgates.shape[-1], hs.shape[-1]
        gw = None
        if self.needs_grad[1]:
            gw = dgates.reshape(-1, G).T @ self._previous_hidden(hs, h0).reshape(-1, H)
        gb = dgates.sum(axis=(0, 1)) if self.has_bias and self.needs_grad[-1] else None
        return gw, gb

    def _save(self, w_hh, h0, has_bias, reverse):
        self.w_hh, self.h0, self.has_bias, self.reverse = w_hh, h0, has_bias, reverse


class RNNSequence(_RecurrentOp):
    """Elman recurrence h_t = act(xg_t + h_{t-1} @ W_hh.T + b_hh), act tanh
    or relu. Outputs: all hidden states, final hidden state."""
    n_outputs = 2

    def forward(self, xg, w_hh, h0, b_hh=None, *, nonlinearity="tanh", reverse=False):
        xp = self.backend.xp
        self._save(w_hh, h0, b_hh is not None, reverse)
        self.nonlinearity = nonlinearity
        pre = xg if b_hh is None else xg + b_hh  # the bias once, for all steps
        hs = xp.empty(xg.shape[:2] + (w_hh.shape[1],), dtype=xg.dtype)
        w_t, h = w_hh.T, h0
        for t in self._steps(xg.shape[0]):
            out = hs[t]
            xp.matmul(h, w_t, out=out)
            out += pre[t]
            if nonlinearity == "tanh":
                xp.tanh(out, out=out)
            else:
                xp.maximum(out, 0, out=out)
            h = out
        self.hs = hs
        return hs, h.copy()

    def backward(self, g_out, g_hn):
        xp, hs, w = self.backend.xp, self.hs, self.w_hh
        # activation derivative from the outputs, for all steps at once
        # (relu: 0 where the output is 0, as PyTorch's threshold_backward)
        deriv = 1 - hs * hs if self.nonlinearity == "tanh" else (hs > 0).astype(hs.dtype)
        dpre = xp.empty_like(hs)
        dh = xp.zeros_like(self.h0) if g_hn is None else g_hn.copy()
        for t in self._steps_back(hs.shape[0]):
            if g_out is not None:
                dh += g_out[t]
            xp.multiply(dh, deriv[t], out=dpre[t])
            dh = dpre[t] @ w
        gw, gb = self._weight_grads(dpre, hs, self.h0)
        gh0 = dh if self.needs_grad[2] else None
        grads = (dpre, gw, gh0)
        return grads + (gb,) if self.has_bias else grads


class LSTMSequence(_RecurrentOp):
    """c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t), gates i, f, o
    sigmoid and g tanh of xg_t + h_{t-1} @ W_hh.T + b_hh.
    Outputs: all hidden states, final hidden state, final cell state."""
    n_outputs = 3

    def forward(self, xg, w_hh, h0, c0, b_hh=None, *, reverse=False):
        xp = self.backend.xp
        self._save(w_hh, h0, b_hh is not None, reverse)
        self.c0 = c0
        L, N, G = xg.shape
        H = G // 4
        scale, shift = self._gate_affine(H, xg.dtype)
        # sigmoid(x) = 0.5 * tanh(0.5 x) + 0.5, tanh(x) = 1 * tanh(1 x) + 0:
        # one tanh for all four gates. Scaling by 0.5 or 1 is exact, so it
        # is folded into the input projections and the recurrent weight.
        pre = xg if b_hh is None else xg + b_hh
        pre = pre * scale
        w_t = (w_hh * scale[:, None]).T
        acts = xp.empty((L, N, G), dtype=xg.dtype)
        cs, tanh_cs, hs = (xp.empty((L, N, H), dtype=xg.dtype) for _ in range(3))
        h, c = h0, c0
        for t in self._steps(L):
            a = acts[t]
            xp.matmul(h, w_t, out=a)
            a += pre[t]
            xp.tanh(a, out=a)
            a *= scale
            a += shift
            c_new, tc = cs[t], tanh_cs[t]
            xp.multiply(a[:, H:2 * H], c, out=c_new)
            c_new += a[:, :H] * a[:, 2 * H:3 * H]
            xp.tanh(c_new, out=tc)
            xp.multiply(a[:, 3 * H:], tc, out=hs[t])
            h, c = hs[t], c_new
        self.acts, self.cs, self.tanh_cs, self.hs = acts, cs, tanh_cs, hs
        return hs, h.copy(), c.copy()

    def _gate_affine(self, H, dtype):
        """Per-gate-column constants: act = scale * tanh(scale * x) + shift."""
        xp = self.backend.xp
        scale = xp.full(4 * H, 0.5, dtype=dtype)
        shift = xp.full(4 * H, 0.5, dtype=dtype)
        scale[2 * H:3 * H] = 1
        shift[2 * H:3 * H] = 0
        return scale, shift

    def backward(self, g_out, g_hn, g_cn):
        xp = self.backend.xp
        acts, cs, tanh_cs, hs, w = self.acts, self.cs, self.tanh_cs, self.hs, self.w_hh
        L, N, G = acts.shape
        H = G // 4
        scale, shift = self._gate_affine(H, acts.dtype)
        # Everything that does not depend on the incoming gradient, for all
        # steps at once. d act / d x = scale^2 - (act - shift)^2 covers both
        # sigmoid (a (1 - a)) and tanh (1 - a^2).
        deriv = acts - shift
        deriv *= deriv
        xp.subtract(scale * scale, deriv, out=deriv)
        i, f, g, o = (acts[..., k * H:(k + 1) * H] for k in range(4))
        c_prev = xp.concatenate([cs[1:], self.c0[None]] if self.reverse
                                else [self.c0[None], cs[:-1]], axis=0)
        # d loss / d pre-activation = coef * (dc for i, f, g; dh for o)
        coef = xp.concatenate([g, c_prev, i, tanh_cs], axis=-1)
        coef *= deriv
        coef4 = coef.reshape(L, N, 4, H)
        dc_from_dh = o * (1 - tanh_cs * tanh_cs)  # d c_t / d h_t through h = o tanh(c)
        dgates = xp.empty((L, N, G), dtype=acts.dtype)
        dgates4 = dgates.reshape(L, N, 4, H)
        dh = xp.zeros_like(self.h0) if g_hn is None else g_hn.copy()
        dc_next = xp.zeros_like(self.c0) if g_cn is None else g_cn
        for t in self._steps_back(L):
            if g_out is not None:
                dh += g_out[t]
            dc = dh * dc_from_dh[t]
            dc += dc_next
            xp.multiply(coef4[t, :, :3], dc[:, None, :], out=dgates4[t, :, :3])
            xp.multiply(coef4[t, :, 3], dh, out=dgates4[t, :, 3])
            dh = dgates[t] @ w
            dc_next = dc * f[t]
        gw, gb = self._weight_grads(dgates, hs, self.h0)
        gh0 = dh if self.needs_grad[2] else None
        gc0 = dc_next if self.needs_grad[3] else None
        grads = (dgates, gw, gh0, gc0)
        return grads + (gb,) if self.has_bias else grads


class GRUSequence(_RecurrentOp):
    """r, z = sigmoid(xg_rz + (h W_hh.T + b_hh)_rz),
    n = tanh(xg_n + r * (h W_hn.T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    Outputs: all hidden states, final hidden state."""
    n_outputs = 2

    def forward(self, xg, w_hh, h0, b_hh=None, *, reverse=False):
        xp = self.backend.xp
        self._save(w_hh, h0, b_hh is not None, reverse)
        L, N, G = xg.shape
        H = G // 3
        acts = xp.empty((L, N, G), dtype=xg.dtype)  # r, z, n
        hh_n = xp.empty((L, N, H), dtype=xg.dtype)  # W_hn h + b_hn, which r multiplies
        hs = xp.empty((L, N, H), dtype=xg.dtype)
        w_t, h = w_hh.T, h0
        for t in self._steps(L):
            hh = h @ w_t
            if b_hh is not None:
                hh += b_hh
            a, x = acts[t], xg[t]
            rz = a[:, :2 * H]
            xp.add(x[:, :2 * H], hh[:, :2 * H], out=rz)
            rz *= 0.5  # sigmoid(x) = 0.5 * tanh(0.5 x) + 0.5
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            hh_n[t] = hh[:, 2 * H:]
            n = a[:, 2 * H:]
            xp.multiply(a[:, :H], hh_n[t], out=n)
            n += x[:, 2 * H:]
            xp.tanh(n, out=n)
            # h_t = n + z * (h - n)
            out = hs[t]
            xp.subtract(h, n, out=out)
            out *= a[:, H:2 * H]
            out += n
            h = out
        self.acts, self.hh_n, self.hs = acts, hh_n, hs
        return hs, h.copy()

    def backward(self, g_out, g_hn):
        xp = self.backend.xp
        acts, hh_n, hs, w = self.acts, self.hh_n, self.hs, self.w_hh
        L, N, G = acts.shape
        H = G // 3
        r, z, n = acts[..., :H], acts[..., H:2 * H], acts[..., 2 * H:]
        h_prev = self._previous_hidden(hs, self.h0)
        # per-step gradients as coefficients times dh, for all steps at once
        k_n = (1 - z) * (1 - n * n)             # d pre_n / d h_t
        k_z = (h_prev - n) * z * (1 - z)        # d pre_z / d h_t
        k_r = hh_n * r * (1 - r)                # d pre_r / d pre_n
        dhh = xp.empty((L, N, G), dtype=acts.dtype)  # grads of h W_hh.T + b_hh
        dn_pre = xp.empty((L, N, H), dtype=acts.dtype)  # grad of xg_n
        dh = xp.zeros_like(self.h0) if g_hn is None else g_hn.copy()
        for t in self._steps_back(L):
            if g_out is not None:
                dh += g_out[t]
            d, dn = dhh[t], dn_pre[t]
            xp.multiply(dh, k_n[t], out=dn)
            xp.multiply(dn, k_r[t], out=d[:, :H])
            xp.multiply(dh, k_z[t], out=d[:, H:2 * H])
            xp.multiply(dn, r[t], out=d[:, 2 * H:])
            dh_prev = d @ w
            dh_prev += dh * z[t]
            dh = dh_prev
        gw, gb = self._weight_grads(dhh, hs, self.h0)
        dxg = dhh.copy()
        dxg[..., 2 * H:] = dn_pre
        gh0 = dh if self.needs_grad[2] else None
        grads = (dxg, gw, gh0)
        return grads + (gb,) if self.has_bias else grads

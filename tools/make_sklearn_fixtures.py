#!/usr/bin/python3
"""Generate scikit-learn MLPClassifier parity fixtures for ridgeline's TypeScript tests.

Run from the repository root with Debian's Python (python3-sklearn 1.2.x, numpy):

    /usr/bin/python3 tools/make_sklearn_fixtures.py           # (re)write test/fixtures/sklearn/*.json
    /usr/bin/python3 tools/make_sklearn_fixtures.py --check   # exit 1 if a file on disk is out of date

Each case trains ``MLPClassifier(hidden_layer_sizes=(8, 6), activation='relu')``
(float64, 12 -> 8 -> 6 -> 4, softmax output) with ``solver='sgd'`` or
``'adam'`` on the same 40 x 12 data set, from the same seeded initial weights,
with ``shuffle=False`` so the minibatches are known.  The script records the
batch, sklearn's batch loss and every parameter after *every* optimizer step.
Before it writes anything it re-derives every step in plain numpy from the
formulas below (PyTorch-style optimizers) and asserts agreement to 1e-12.

What sklearn 1.2 does (read from sklearn/neural_network/_multilayer_perceptron.py,
_stochastic_optimizers.py and _base.py, and checked numerically here)
--------------------------------------------------------------------------
Notation: a minibatch has B_b rows (the size of *that* batch), W_l = coefs_[l]
(shape [in, out]), b_l = intercepts_[l], P = softmax output, Y = one-hot labels
(LabelBinarizer, column j <-> classes_[j], classes sorted).

* Output/loss.  For >2 classes ``out_activation_ = 'softmax'`` (``inplace_softmax``,
  max-shifted) and ``loss='log_loss'``.  ``_backprop`` returns, per minibatch,

      L_b = -(1/B_b) sum_i log clip(P[i, y_i], eps, 1-eps)  +  (alpha / (2 B_b)) * sum_l ||W_l||_F^2

  (eps = float64 machine epsilon; the clip never triggers here).  So the L2
  coefficient in ridgeline's convention (E = mean CE + lambda_E * sum w^2) is
  ``lambda_E = alpha / (2 B_b)``, with B_b the size of the current batch, NOT
  the training-set size N and NOT the nominal ``batch_size``: the final partial
  batch (batch_size=16, N=40 -> 16, 16, 8) is penalised with alpha/16, twice as
  strongly as the full batches' alpha/32.
* Which parameters: only ``coefs_`` (the weights).  ``intercepts_`` are neither
  in the penalty nor in its gradient.
* Gradient (``_compute_loss_grad``): with delta_L = P - Y (not yet divided by B_b)
  and delta_{l-1} = (delta_l W_l^T) * [A_l > 0] (ReLU derivative: 0 where the
  post-activation is exactly 0),

      dW_l = (A_l^T delta_l + alpha * W_l) / B_b  =  A_l^T delta_l / B_b + 2 lambda_E W_l
      db_l = mean over the batch of delta_l        (no penalty term)

  i.e. exactly the gradient of L_b (checked here with central differences too).
  The penalty gradient is *coupled*: it is added to the gradient before the
  optimizer sees it, for Adam as well (Adam + L2, not AdamW).
* Batches: ``gen_batches(N, batch_size)`` (min_batch_size=0) yields
  [0,B), [B,2B), ... and a smaller final batch [kB, N) when B does not divide N.
  Every batch, including the partial one, is one optimizer step.  With
  ``shuffle=False`` the batches are X[start:end] in order, every epoch.
  ``batch_size`` > N is clipped to N.
* SGD (``SGDOptimizer._get_updates``; velocities v start at 0; eta = current lr):

      v <- mu * v - eta * g
      non-Nesterov:  w <- w + v
      Nesterov:      w <- w + (mu * v - eta * g)      (v is the *new* velocity)

  With a constant eta this is PyTorch's heavy-ball SGD (dampening=0) with
  v = -eta * buf:  buf <- mu * buf + g;  w <- w - eta * buf  (Nesterov:
  w <- w - eta * (g + mu * buf)).  PyTorch's "buf = g on the first step" is the
  same as buf = mu*0 + g.  Equality is algebraic, not bitwise (the float
  operations are ordered differently; differences are ~1e-16).  The two forms
  DIFFER when eta changes over time ('invscaling', 'adaptive'): sklearn's
  velocity carries the old eta, PyTorch's buffer does not.  All cases here use
  learning_rate='constant'.  momentum=0 is plain SGD: w <- w - eta * g.
* Adam (``AdamOptimizer._get_updates``; t counts steps from 1, m = v = 0 at start):

      m <- b1 m + (1-b1) g;   v <- b2 v + (1-b2) g^2
      lr_t = eta * sqrt(1 - b2^t) / (1 - b1^t)
      w <- w - lr_t * m / (sqrt(v) + eps)

  PyTorch: w <- w - eta * m_hat / (sqrt(v_hat) + eps_pt), m_hat = m/(1-b1^t),
  v_hat = v/(1-b2^t), which equals  w - lr_t * m / (sqrt(v) + eps_pt * sqrt(1-b2^t)).
  So sklearn's eps is PyTorch's eps_pt = eps / sqrt(1 - b2^t): at t = 1 with
  b2 = 0.999 sklearn's epsilon=1e-3 acts like a PyTorch eps of ~0.0316 (it
  decays towards 1e-3 as t grows).  sklearn does not record lr_t per parameter
  group; ``_optimizer.learning_rate`` holds the last lr_t.
* Learning rate schedule bookkeeping (``iteration_ends``) only runs at the end of
  an epoch and only changes anything for 'invscaling'.  Stopping: with
  tol=0 and n_iter_no_change huge, training runs exactly ``max_iter`` epochs.
* ``loss_`` / ``loss_curve_`` (per epoch) = sum_b B_b * L_b / N, i.e. batch losses
  at *different* parameter values, each carrying its own alpha/(2 B_b) penalty;
  the recorded per-step ``loss`` is L_b at the parameters *before* that step.
* L-BFGS (not used here) evaluates the same formula on the full set, B_b = N,
  so there lambda_E = alpha / (2N).

How the run is controlled: a subclass of MLPClassifier (no __init__ of its own,
so get_params/validation are unchanged) overrides ``_initialize`` to call the
original and then replace coefs_/intercepts_ by the seeded arrays, wraps
``_backprop`` to remember the batch and its loss, and wraps the optimizer's
``update_params`` (via a property on ``_optimizer``, which ``_fit_stochastic``
assigns) to snapshot all parameters after each step.  ``fit`` is then called
normally.  A separate check confirms that the hooks do not change the result
(same final weights as a plain MLPClassifier when the init is not replaced).

Fixture layout (one JSON per case, float64 values written with repr precision):
parameters use ridgeline's names, ``dense{l+1}.weight`` = coefs_[l] TRANSPOSED to
[out, in] and flattened row-major, ``dense{l+1}.bias`` = intercepts_[l].
``steps[k]`` = {epoch, batch: [start, end), loss (L_b before the step),
lambda_E (= alpha/(2 B_b)), lr (sklearn's learning_rate after the step; lr_t for
Adam), params (after the step)}.  ``grads_step0`` is sklearn's gradient of the
first step (penalty included).  ``check`` lists how far some plausible wrong
conventions land from sklearn's trajectory (max |diff| over all steps), as a
guide to test tolerances.
"""

import argparse
import json
import math
import os
import sys
import warnings

from fixture_json import dumps, write_fixtures

try:
    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:  # pragma: no cover - environment guard
    sys.exit(
        "make_sklearn_fixtures.py needs scikit-learn and numpy; run it with "
        "/usr/bin/python3 (Debian's python3-sklearn), not the python3 first on PATH."
    )

GENERATOR = "/usr/bin/python3 tools/make_sklearn_fixtures.py"

SEED = 20240611
N = 40
N_FEATURES = 12
HIDDEN = (8, 6)
N_CLASSES = 4
SIZES = [N_FEATURES, *HIDDEN, N_CLASSES]
TOL = 1e-12  # numpy re-derivation vs sklearn, absolute, every step

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "test", "fixtures", "sklearn")

# Shared by every case.  n_iter_no_change/tol make the run last exactly max_iter
# epochs; shuffle=False makes the batches X[start:end] in order.
BASE_KWARGS = dict(
    hidden_layer_sizes=HIDDEN,
    activation="relu",
    learning_rate="constant",
    shuffle=False,
    tol=0.0,
    n_iter_no_change=10**9,
    early_stopping=False,
    warm_start=False,
    random_state=0,  # only feeds sklearn's own init, which is replaced
    verbose=False,
)

# case -> (sklearn kwargs, epochs)
CASES = [
    ("sgd_b10_alpha", dict(solver="sgd", batch_size=10, alpha=0.064, learning_rate_init=0.1,
                           momentum=0.0, nesterovs_momentum=False), 2),
    ("sgd_b20_alpha", dict(solver="sgd", batch_size=20, alpha=0.064, learning_rate_init=0.1,
                           momentum=0.0, nesterovs_momentum=False), 3),
    ("sgd_b16_partial", dict(solver="sgd", batch_size=16, alpha=0.05, learning_rate_init=0.1,
                             momentum=0.0, nesterovs_momentum=False), 2),
    ("sgd_momentum", dict(solver="sgd", batch_size=10, alpha=0.01, learning_rate_init=0.1,
                          momentum=0.9, nesterovs_momentum=False), 2),
    ("sgd_nesterov", dict(solver="sgd", batch_size=10, alpha=0.01, learning_rate_init=0.1,
                          momentum=0.9, nesterovs_momentum=True), 2),
    ("adam_alpha", dict(solver="adam", batch_size=10, alpha=0.01, learning_rate_init=0.01,
                        beta_1=0.9, beta_2=0.999, epsilon=1e-8), 2),
    ("adam_alpha_eps", dict(solver="adam", batch_size=10, alpha=0.01, learning_rate_init=0.01,
                            beta_1=0.9, beta_2=0.999, epsilon=1e-3), 2),
]


# --------------------------------------------------------------------------- data


def make_data():
    """X ~ N(0, 1) float64 [N, 12]; y balanced over 4 classes, permuted; Glorot-uniform init."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((N, N_FEATURES))
    y = rng.permutation(np.arange(N) % N_CLASSES).astype(np.int64)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))  # sklearn's bound for relu
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    assert set(y.tolist()) == set(range(N_CLASSES))
    return X, y, coefs, intercepts


# ------------------------------------------------------------------ sklearn hooks


class _RecordingMLPClassifier(MLPClassifier):
    """MLPClassifier that uses given initial weights and records every optimizer step.

    No __init__ of its own, so sklearn's parameter handling is MLPClassifier's.
    The instance attributes below are set by run_sklearn() after construction.
    """

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        init = self._fixture_init
        if init is not None:
            coefs, intercepts = init
            assert [c.shape for c in self.coefs_] == [c.shape for c in coefs]
            assert [b.shape for b in self.intercepts_] == [b.shape for b in intercepts]
            self.coefs_ = [np.array(c, dtype=dtype, copy=True) for c in coefs]
            self.intercepts_ = [np.array(b, dtype=dtype, copy=True) for b in intercepts]

    def _backprop(self, X, y, activations, deltas, coef_grads, intercept_grads):
        loss, coef_grads, intercept_grads = super()._backprop(
            X, y, activations, deltas, coef_grads, intercept_grads
        )
        self._fixture_pending = {
            "X": np.array(X, copy=True),
            "loss": float(loss),
            "grads": [np.array(g, copy=True) for g in list(coef_grads) + list(intercept_grads)],
        }
        return loss, coef_grads, intercept_grads

    @property
    def _optimizer(self):
        try:
            return self.__dict__["_fixture_optimizer"]
        except KeyError:
            raise AttributeError("_optimizer") from None

    @_optimizer.setter
    def _optimizer(self, opt):
        original = opt.update_params

        def update_params(params, grads):
            original(params, grads)
            self._fixture_after_step(params, grads)

        opt.update_params = update_params
        self.__dict__["_fixture_optimizer"] = opt

    def _fixture_after_step(self, params, grads):
        pending = self.__dict__.pop("_fixture_pending")
        nl = len(self.coefs_)
        # params are the live coefs_/intercepts_ arrays, updated in place.
        assert all(p is q for p, q in zip(params, list(self.coefs_) + list(self.intercepts_)))
        assert all(np.array_equal(g, h) for g, h in zip(grads, pending["grads"]))
        Xb = pending["X"]
        start = self._fixture_pos
        end = start + Xb.shape[0]
        assert np.array_equal(Xb, self._fixture_X[start:end]), "batch is not X[start:end]"
        self._fixture_pos = end % self._fixture_X.shape[0]
        self._fixture_steps.append({
            "epoch": int(self.n_iter_),  # n_iter_ is bumped after the epoch's last step
            "batch": (start, end),
            "loss": pending["loss"],
            "lr": float(self.__dict__["_fixture_optimizer"].learning_rate),
            "coefs": [np.array(c, copy=True) for c in params[:nl]],
            "intercepts": [np.array(b, copy=True) for b in params[nl:]],
            "grads": pending["grads"],
        })


def sklearn_kwargs(case_kwargs, epochs):
    kw = dict(BASE_KWARGS)
    kw.update(case_kwargs)
    kw["max_iter"] = epochs
    return kw


def run_sklearn(kwargs, X, y, init):
    clf = _RecordingMLPClassifier(**kwargs)
    clf._fixture_init = init
    clf._fixture_X = X
    clf._fixture_pos = 0
    clf._fixture_steps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached, by design
        clf.fit(X, y)
    assert clf.out_activation_ == "softmax", clf.out_activation_
    assert list(clf.classes_) == list(range(N_CLASSES))
    assert clf.n_iter_ == kwargs["max_iter"]
    assert clf._fixture_pos == 0  # every epoch consumed exactly N rows
    return clf


def check_hooks_transparent(kwargs, X, y):
    """Hooks on, own init off: must equal a plain MLPClassifier bit for bit."""
    rec = run_sklearn(kwargs, X, y, None)
    plain = MLPClassifier(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
    for a, b in zip(rec.coefs_ + rec.intercepts_, plain.coefs_ + plain.intercepts_):
        assert np.array_equal(a, b), "recording hooks changed sklearn's result"
    assert rec.loss_curve_ == plain.loss_curve_


# ------------------------------------------------- independent numpy re-derivation


def batches_for(n, batch_size):
    """gen_batches(n, batch_size) with min_batch_size=0: full batches then a partial one."""
    batch_size = int(min(max(batch_size, 1), n))
    out, start = [], 0
    while start < n:
        end = min(start + batch_size, n)
        out.append((start, end))
        start = end
    return out


def loss_and_grads(Ws, bs, Xb, yb, alpha, penalize_bias=False, n_for_penalty=None):
    """Mean CE + lambda_E * sum ||W||^2 with lambda_E = alpha / (2 B), B = len(batch).

    Returns (loss, [dW...], [db...]) with the gradient of exactly that loss.
    ``n_for_penalty``/``penalize_bias`` exist only to build wrong variants.
    """
    B = Xb.shape[0]
    lam = alpha / (2.0 * (n_for_penalty if n_for_penalty is not None else B))
    acts, pres = [Xb], []
    h = Xb
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = h @ W + b
        pres.append(z)
        h = np.maximum(z, 0.0) if l < len(Ws) - 1 else z
        acts.append(h)
    logits = acts[-1]
    zmax = logits.max(axis=1, keepdims=True)
    logsumexp = zmax[:, 0] + np.log(np.exp(logits - zmax).sum(axis=1))
    logp_true = logits[np.arange(B), yb] - logsumexp
    decayed = list(Ws) + (list(bs) if penalize_bias else [])
    sq = sum(float(np.dot(p.ravel(), p.ravel())) for p in decayed)
    loss = -logp_true.mean() + lam * sq

    P = np.exp(logits - logsumexp[:, None])
    delta = P.copy()
    delta[np.arange(B), yb] -= 1.0
    delta /= B  # d(mean CE)/d(logits)
    dWs, dbs = [None] * len(Ws), [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        dWs[l] = acts[l].T @ delta + 2.0 * lam * Ws[l]
        dbs[l] = delta.sum(axis=0) + (2.0 * lam * bs[l] if penalize_bias else 0.0)
        if l > 0:
            delta = (delta @ Ws[l].T) * (pres[l - 1] > 0)
    return loss, dWs, dbs


class TorchStyleSGD:
    """torch.optim.SGD(momentum=mu, dampening=0, nesterov=...) on a list of arrays."""

    def __init__(self, lr, momentum, nesterov):
        self.lr, self.mu, self.nesterov, self.bufs = lr, momentum, nesterov, None

    def step(self, params, grads):
        if self.mu == 0:
            return [p - self.lr * g for p, g in zip(params, grads)]
        if self.bufs is None:
            self.bufs = [g.copy() for g in grads]  # torch: buf = g on the first step
        else:
            self.bufs = [self.mu * b + g for b, g in zip(self.bufs, grads)]
        if self.nesterov:
            d = [g + self.mu * b for g, b in zip(grads, self.bufs)]
        else:
            d = self.bufs
        return [p - self.lr * di for p, di in zip(params, d)]


class TorchStyleAdam:
    """torch.optim.Adam with bias-corrected m_hat/v_hat; eps added to sqrt(v_hat).

    eps_mode='sklearn' feeds PyTorch eps_pt = eps / sqrt(1 - b2^t), which is what
    sklearn's eps amounts to; eps_mode='torch' uses eps verbatim (a wrong variant).
    """

    def __init__(self, lr, b1, b2, eps, eps_mode="sklearn"):
        self.lr, self.b1, self.b2, self.eps, self.eps_mode = lr, b1, b2, eps, eps_mode
        self.t, self.m, self.v = 0, None, None

    def step(self, params, grads):
        self.t += 1
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.v = [np.zeros_like(g) for g in grads]
        self.m = [self.b1 * m + (1 - self.b1) * g for m, g in zip(self.m, grads)]
        self.v = [self.b2 * v + (1 - self.b2) * g * g for v, g in zip(self.v, grads)]
        bc1 = 1 - self.b1 ** self.t
        bc2 = 1 - self.b2 ** self.t
        eps = self.eps / math.sqrt(bc2) if self.eps_mode == "sklearn" else self.eps
        return [
            p - self.lr * (m / bc1) / (np.sqrt(v / bc2) + eps)
            for p, m, v in zip(params, self.m, self.v)
        ]


def make_reference_optimizer(kw, **variant):
    if kw["solver"] == "sgd":
        return TorchStyleSGD(kw["learning_rate_init"], kw["momentum"],
                             variant.get("nesterov", kw["nesterovs_momentum"]))
    return TorchStyleAdam(kw["learning_rate_init"], kw["beta_1"], kw["beta_2"], kw["epsilon"],
                          variant.get("eps_mode", "sklearn"))


def reference_trajectory(kw, X, y, coefs, intercepts, epochs, **variant):
    """All steps, re-derived from the documented formulas. Returns list of dicts."""
    Ws = [c.copy() for c in coefs]
    bs = [b.copy() for b in intercepts]
    opt = make_reference_optimizer(kw, **variant)
    nl = len(Ws)
    out = []
    for epoch in range(epochs):
        for start, end in batches_for(X.shape[0], kw["batch_size"]):
            loss, dWs, dbs = loss_and_grads(
                Ws, bs, X[start:end], y[start:end], kw["alpha"],
                penalize_bias=variant.get("penalize_bias", False),
                n_for_penalty=variant.get("n_for_penalty"),
            )
            new = opt.step(Ws + bs, dWs + dbs)
            Ws, bs = new[:nl], new[nl:]
            out.append({"epoch": epoch, "batch": (start, end), "loss": loss,
                        "grads": dWs + dbs, "params": Ws + bs})
    return out


def gradient_check(X, y, coefs, intercepts, alpha, B):
    """Central differences of the documented loss vs its analytic gradient."""
    Xb, yb = X[:B], y[:B]
    params = [c.copy() for c in coefs] + [b.copy() for b in intercepts]
    nl = len(coefs)
    _, dWs, dbs = loss_and_grads(params[:nl], params[nl:], Xb, yb, alpha)
    analytic = dWs + dbs
    h = 1e-6
    worst = 0.0
    for k, p in enumerate(params):
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            lp = loss_and_grads(params[:nl], params[nl:], Xb, yb, alpha)[0]
            p[idx] = old - h
            lm = loss_and_grads(params[:nl], params[nl:], Xb, yb, alpha)[0]
            p[idx] = old
            worst = max(worst, abs((lp - lm) / (2 * h) - analytic[k][idx]))
    assert worst < 1e-7, "finite differences disagree with the documented gradient: %g" % worst
    return worst


def max_param_diff(traj_a, params_b_list):
    return max(
        float(np.max(np.abs(a - b)))
        for step, params_b in zip(traj_a, params_b_list)
        for a, b in zip(step["params"], params_b)
    )


# ------------------------------------------------------------------------ fixture


def ridgeline_params(coefs, intercepts):
    out = {}
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        Wt = np.ascontiguousarray(W.T)  # sklearn [in, out] -> ridgeline [out, in]
        out["dense%d.weight" % (l + 1)] = {"shape": list(Wt.shape), "data": [float(v) for v in Wt.ravel()]}
        out["dense%d.bias" % (l + 1)] = {"shape": [int(b.shape[0])], "data": [float(v) for v in b]}
    return out


def jsonable_kwargs(params):
    out = {}
    for k, v in sorted(params.items()):
        if isinstance(v, tuple):
            v = list(v)
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def case_notes(case, kw, batch_sizes):
    alpha = kw["alpha"]
    lams = ", ".join("B=%d -> %r" % (B, alpha / (2 * B)) for B in sorted(set(batch_sizes), reverse=True))
    notes = [
        "Per-minibatch loss (sklearn _backprop): mean over the batch of -log softmax(z)[y] "
        "+ (alpha / (2 * B_b)) * sum over coefs_ of ||W||^2, B_b = rows in THIS batch. "
        "ridgeline lambda_E = alpha / (2 * B_b): " + lams + ".",
        "Only coefs_ (dense*.weight) are penalised; intercepts_ (dense*.bias) are not.",
        "Gradient: dW = (A^T (P - Y) + alpha * W) / B_b, db = mean(P - Y); the L2 term is added "
        "to the gradient before the optimizer (coupled L2).",
        "Output activation: softmax (4 classes, LabelBinarizer one-hot, column j = class j); "
        "loss log_loss (probabilities clipped to [eps, 1-eps], never active here).",
        "Batches: gen_batches with shuffle=False -> X[start:end] in order each epoch; "
        "batch sizes per epoch %s; each batch (including a partial last one) is one step." % batch_sizes,
        "steps[k].loss is sklearn's batch loss (penalty included) at the parameters BEFORE step k; "
        "steps[k].params are all parameters AFTER step k; epoch_loss is sklearn's loss_curve_ "
        "(sum_b B_b * loss_b / N).",
    ]
    if kw["solver"] == "sgd":
        if kw["momentum"] == 0:
            notes.append("SGD without momentum: w <- w - lr * g, lr constant.")
        else:
            notes.append(
                "sklearn SGD: v <- momentum * v - lr * g; %s. With constant lr this equals "
                "torch.optim.SGD(momentum=%r, dampening=0, nesterov=%s): buf <- mu*buf + g, %s "
                "(v = -lr * buf). Verified to 1e-12."
                % ("w <- w + (momentum * v - lr * g) with the new v (Nesterov)" if kw["nesterovs_momentum"]
                   else "w <- w + v",
                   kw["momentum"], kw["nesterovs_momentum"],
                   "w <- w - lr * (g + mu*buf)" if kw["nesterovs_momentum"] else "w <- w - lr * buf")
            )
    else:
        notes.append(
            "sklearn Adam: m, v as usual (t from 1); lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); "
            "w <- w - lr_t * m / (sqrt(v) + epsilon). Equivalent to torch.optim.Adam with "
            "eps_torch = epsilon / sqrt(1 - beta_2^t) (epsilon=%r -> %r at t=1). steps[k].lr is "
            "sklearn's lr_t for that step. The L2 gradient goes through the moments (Adam + L2, "
            "not AdamW)." % (kw["epsilon"], kw["epsilon"] / math.sqrt(1 - kw["beta_2"]))
        )
    return notes


def build_case(case, case_kwargs, epochs, X, y, coefs, intercepts):
    kw = sklearn_kwargs(case_kwargs, epochs)
    check_hooks_transparent(kw, X, y)
    clf = run_sklearn(kw, X, y, (coefs, intercepts))
    steps = clf._fixture_steps
    batch_sizes = [e - s for s, e in batches_for(N, kw["batch_size"])]
    assert len(steps) == epochs * len(batch_sizes) >= 5, (case, len(steps))

    # ---- verify against the numpy re-derivation (every step, not just the first)
    ref = reference_trajectory(kw, X, y, coefs, intercepts, epochs)
    assert len(ref) == len(steps)
    for k, (s, r) in enumerate(zip(steps, ref)):
        assert s["batch"] == r["batch"], (case, k, s["batch"], r["batch"])
        assert s["epoch"] == r["epoch"], (case, k)
        assert abs(s["loss"] - r["loss"]) <= TOL, (case, k, "loss", s["loss"], r["loss"])
        for a, b in zip(s["grads"], r["grads"]):
            assert np.max(np.abs(a - b)) <= TOL, (case, k, "grad", np.max(np.abs(a - b)))
        for a, b in zip(s["coefs"] + s["intercepts"], r["params"]):
            assert np.max(np.abs(a - b)) <= TOL, (case, k, "param", np.max(np.abs(a - b)))
    worst_ref = max(
        float(np.max(np.abs(a - b)))
        for s, r in zip(steps, ref)
        for a, b in zip(s["coefs"] + s["intercepts"], r["params"])
    )
    if kw["solver"] == "adam":
        for k, s in enumerate(steps):
            t = k + 1
            lr_t = kw["learning_rate_init"] * math.sqrt(1 - kw["beta_2"] ** t) / (1 - kw["beta_1"] ** t)
            assert abs(s["lr"] - lr_t) <= 1e-15, (case, k, s["lr"], lr_t)
    assert clf.loss_curve_[0] == clf.loss_curve_[0]  # finite
    for e in range(epochs):
        mine = sum((s["batch"][1] - s["batch"][0]) * s["loss"] for s in steps if s["epoch"] == e) / N
        assert abs(mine - clf.loss_curve_[e]) <= TOL, (case, e)

    # ---- how far plausible wrong conventions land (guide for test tolerances)
    sk_params = [s["coefs"] + s["intercepts"] for s in steps]
    variants = {
        "bias_also_decayed": dict(penalize_bias=True),
        "lambda_E_alpha_over_2N": dict(n_for_penalty=N),
        "no_l2": dict(n_for_penalty=float("inf")),
    }
    if N % kw["batch_size"]:
        # partial last batch penalised as if it had the nominal batch_size rows
        variants["lambda_E_alpha_over_2_nominal_batch_size"] = dict(n_for_penalty=kw["batch_size"])
    if kw["solver"] == "sgd" and kw["momentum"] > 0:
        variants["nesterov_flipped"] = dict(nesterov=not kw["nesterovs_momentum"])
    if kw["solver"] == "adam":
        variants["torch_eps_verbatim"] = dict(eps_mode="torch")
    check = {
        "numpy_rederivation_max_abs_diff": worst_ref,
        "wrong_variant_max_abs_diff": {
            name: max_param_diff(reference_trajectory(kw, X, y, coefs, intercepts, epochs, **v), sk_params)
            for name, v in variants.items()
        },
    }

    fixture = {
        "generator": GENERATOR,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "case": case,
        "estimator": {"class": "MLPClassifier", "kwargs": jsonable_kwargs(clf.get_params())},
        "model": {"sizes": SIZES, "activation": "relu", "output": "softmax"},
        "loss": "log_loss(mean over batch) + alpha/(2*B_batch) * sum ||coefs_||^2",
        "decayed": "weights",
        "dtype": "float64",
        "seed": SEED,
        "n": N,
        "epochs": epochs,
        "batch_sizes": batch_sizes,
        "notes": case_notes(case, kw, batch_sizes),
        "params_init": ridgeline_params(coefs, intercepts),
        "x": [float(v) for v in X.ravel()],
        "y": [int(v) for v in y],
        "grads_step0": ridgeline_params(steps[0]["grads"][: len(coefs)], steps[0]["grads"][len(coefs):]),
        "epoch_loss": [float(v) for v in clf.loss_curve_],
        "check": check,
        "steps": [
            {
                "epoch": s["epoch"],
                "batch": list(s["batch"]),
                "loss": s["loss"],
                "lambda_E": kw["alpha"] / (2.0 * (s["batch"][1] - s["batch"][0])),
                "lr": s["lr"],
                "params": ridgeline_params(s["coefs"], s["intercepts"]),
            }
            for s in steps
        ],
    }
    return fixture


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if any file on disk differs")
    args = ap.parse_args()

    X, y, coefs, intercepts = make_data()
    gradient_check(X, y, coefs, intercepts, alpha=0.064, B=10)

    outputs = {}
    for case, case_kwargs, epochs in CASES:
        outputs[case + ".json"] = build_case(case, case_kwargs, epochs, X, y, coefs, intercepts)

    write_fixtures(outputs, args.out, args.check, REPO_ROOT, max_bytes=100_000)

if __name__ == "__main__":
    main()

"""A tiny autograd demo: fit y = 3x - 1 with hand-written gradient descent."""
import tinygrad_dc as tg

tg.manual_seed(0)
x = tg.randn(64, 1)
y = 3 * x - 1
w = tg.zeros(1, requires_grad=True)
b = tg.zeros(1, requires_grad=True)
for step in range(200):
    loss = ((x * w + b - y) ** 2).mean()
    loss.backward()
    with tg.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    w.grad = b.grad = None
print(f"w = {w.item():.4f}, b = {b.item():.4f}, loss = {loss.item():.2e}")

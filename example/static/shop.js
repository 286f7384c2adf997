// The "no lost updates" demo of the cart page: send N adds of one product
// at the same moment (fetch, in parallel), then read the cart again and
// say how many more there are. The page then reloads to show the cart,
// and the result, kept in sessionStorage for that one load, stays shown.
"use strict";

(function () {
  const key = "race-result";

  function show(r) {
    const out = document.getElementById("race-result");
    if (!out) return;
    const added = r.after - r.before;
    out.dataset.before = r.before;
    out.dataset.after = r.after;
    out.dataset.added = added;
    let text = r.n + " adds sent at once: pencils in the cart went from " + r.before + " to " + r.after + " (+" + added + ").";
    if (r.failed > 0) {
      text += " " + r.failed + " of the requests failed.";
    }
    if (added === r.n && r.failed === 0) {
      text += " No update was lost.";
    } else if (r.failed === 0) {
      text += " " + (r.n - added) + " were lost: the last write won.";
      out.classList.add("lost");
    }
    out.textContent = text;
    out.hidden = false;
  }

  async function count(item) {
    const resp = await fetch("/api/cart", { cache: "no-store" });
    if (!resp.ok) throw new Error("GET /api/cart: " + resp.status);
    const body = await resp.json();
    return body.cart[item] || 0;
  }

  async function race(button) {
    const item = button.dataset.item;
    const n = Number(button.dataset.n);
    button.disabled = true;
    try {
      const before = await count(item);
      const answers = await Promise.all(Array.from({ length: n }, () =>
        fetch("/api/cart", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ item: item, qty: 1 }),
        })));
      const failed = answers.filter((a) => !a.ok).length;
      const after = await count(item);
      sessionStorage.setItem(key, JSON.stringify({ n: n, before: before, after: after, failed: failed }));
      location.reload();
    } catch (err) {
      const out = document.getElementById("race-result");
      out.textContent = "The demo failed: " + err.message;
      out.classList.add("lost");
      out.hidden = false;
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const saved = sessionStorage.getItem(key);
    if (saved) {
      sessionStorage.removeItem(key);
      show(JSON.parse(saved));
    }
    const button = document.getElementById("race");
    if (button) button.addEventListener("click", () => race(button));
  });
})();

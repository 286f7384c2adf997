// Command example is a small shop, "Paper & Ink", built with Gin and
// sessionware: the Flask session tutorial (log in, fill a cart, log out)
// done right, and what people then ask for: prices and totals, "remember
// me", flash messages in categories, a Devices page that signs out the
// other devices, and concurrent cart adds of which none is lost.
//
//	go run ./example                  # http://localhost:8080, sessions in memory
//	go run ./example -addr :9000      # or ADDR=:9000
//
// The session store comes from SESSION_STORE (default memory://, see
// package backends), so one variable switches it. The memory store holds
// at most 100,000 sessions (memory://?max_entries=N to change that) and
// logs a warning when it evicts; a flood of new sessions evicts new
// sessions, not those of users who came back:
//
//	SESSION_STORE=cookie:// SESSION_KEYS=$(head -c 32 /dev/urandom | base64) go run ./example
//	SESSION_STORE=memcached://localhost:11211 go run ./example
//	SESSION_STORE=redis://localhost:6379/0 go run ./example
//
// With cookie:// and no SESSION_KEYS it makes a random key and warns that
// sessions will not survive a restart. With cookie:// the whole session
// is sealed in the cookie: the Devices page says devices cannot be listed,
// and of concurrent cart adds the last one wins (the cart page says so).
//
// What the session holds, and how:
//
//   - login: Renew (a new session ID, against fixation), SetOwner (the
//     Devices list; ErrNoServerSide on cookie:// is ignored), the user, and
//     RememberMe: with the box ticked the cookie persists and the session
//     lasts 30 days (SetLifetime); without it the cookie lasts the browser
//     session (the app uses WithPersist(false)) and the session 24 hours.
//     Any session ends after a week without a request.
//   - the cart: product ID → quantity, changed only with Update, so that
//     concurrent adds all count; prices stay in the catalogue, in cents.
//   - flashes in two categories, "info" and "error", each in its style.
//   - logout: Destroy, which ends the session on the server too.
//
// Nothing else: no password (any name logs in; it is a demo), nothing in
// the clear on the client (a session ID, or a sealed cookie).
//
// Pages and forms (forms answer 303 to a page, which shows a flash):
//
//	GET  /                        the shop: products, login form or user, cart summary
//	GET  /cart                    the cart: lines, total, checkout, the "no lost updates" demo
//	GET  /devices                 the sessions of the logged-in user; sign out others
//	POST /login                   form username, remember: log in, 303 to /
//	POST /logout                  end the session, 303 to /
//	POST /cart                    form item (a product ID), qty (1 to 99): add, 303 to /
//	POST /cart/remove             form item: remove the line, 303 to /cart
//	POST /checkout                place the order (empty the cart), 303 to /cart
//	POST /devices/logout-others   sign out every other device, 303 to /devices
//	POST /devices/logout          form id (a device's handle): sign it out, 303 to /devices
//	GET  /static/...              the stylesheet, the demo's script, product pictures
//
// The JSON API, over the same session:
//
//	GET  /api/session   {"user": string or null, "cart": {id: qty}, "flashes": {"info": [...], "error": [...]}}
//	POST /api/login     {"username": "alice", "remember": true} → {"user": "alice"}
//	POST /api/logout    → {}
//	GET  /api/products  {"products": [{"id", "name", "price_cents"}, ...]}
//	GET  /api/cart      {"cart": {id: qty}, "count": items, "total_cents": n}
//	POST /api/cart      {"item": "pencil", "qty": 2} → as GET /api/cart
//	GET  /api/devices   {"devices": [{"id", "current", "created", "last_seen"}, ...]}
//	POST /api/devices/logout-others  → {"signed_out": n}
//
// Bad input is a 400 with {"error": "..."} (the page with a message for the
// forms), and the session is unchanged. The devices calls answer 401 when
// nobody is logged in and 501 on cookie://. A session store that is down
// gives 503: JSON on /api/*, a page elsewhere; the app recovers by itself
// when the store is back. SIGINT or SIGTERM shut it down gracefully. It
// logs one line per request with log/slog, never a cookie or session ID.
package main

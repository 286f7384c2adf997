// Package faultsuite holds the fault suite: tests, and nothing else, that
// put the network faults of internal/faultproxy (latency, a stall, a reply
// cut off in transit, refused connections) between the app and a real
// memcached or redis-server, and kill and restart the server under load,
// and check through the real HTTP middleware what a user sees: requests
// end within the store-call budget with the error handler's answer, a
// logged-in user never silently gets a new session, the stored session is
// either the old or the new state, no goroutine leaks, and service returns
// soon after the fault clears. docs/faults.md lists the faults, what each
// test asserts and the figures measured.
package faultsuite

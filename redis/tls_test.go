package redis_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
	"github.com/sessionware/sessions/storetest"
)

// TestTLSWithPassword runs the suite over rediss:// against a redis-server
// that listens with TLS and requires a password.
func TestTLSWithPassword(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	tlsPort := strconv.Itoa(testserver.FreePort(t))
	const password = "s3cr3t-pw"
	testserver.Redis(t, "--tls-port", tlsPort, "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-auth-clients", "no", "--requirepass", password)
	addr := net.JoinHostPort("127.0.0.1", tlsPort)
	waitListening(t, addr)

	s, err := redis.Open("rediss://:" + password + "@" + addr + "/0?skip_verify=true&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		return redis.New(s.Client(), redis.WithPrefix(uniquePrefix()))
	})

	// A wrong password fails at Open without showing the password; with
	// check=false, it fails the request.
	if bad, err := redis.Open("rediss://:wrong-" + password + "@" + addr + "/0?skip_verify=true"); err == nil {
		bad.Close()
		t.Fatal("Open with a wrong password succeeded")
	} else if !errors.Is(err, redis.ErrCheck) || !strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), password) {
		t.Fatalf("Open with a wrong password: %v, want an ErrCheck that says WRONGPASS and hides the password", err)
	}
	bad, err := redis.Open("rediss://:wrong-" + password + "@" + addr + "/0?skip_verify=true&max_retries=-1&check=false")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.Load(context.Background(), "k")
	if err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("Load with a wrong password: %v", err)
	}
	// Plain redis:// to the TLS port fails too, at Open or, unchecked, at
	// the first request.
	if plain, err := redis.Open("redis://:" + password + "@" + addr + "/0?max_retries=-1&read_timeout=500ms"); err == nil {
		plain.Close()
		t.Fatal("Open of a plain connection to the TLS port succeeded")
	} else if !errors.Is(err, redis.ErrCheck) || strings.Contains(err.Error(), password) {
		t.Fatalf("Open of a plain connection to the TLS port: %v", err)
	}
	plain, err := redis.Open("redis://:" + password + "@" + addr + "/0?max_retries=-1&read_timeout=500ms&check=false")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Load(context.Background(), "k"); err == nil {
		t.Fatal("a plain connection to the TLS port worked")
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

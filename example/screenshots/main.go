// Command screenshots takes the README's pictures of the example shop
// with headless chromium: the shop page, the cart (after the "no lost
// updates" demo) and the Devices page (signed in from two browsers), as
// PNG files. Run it from the repository root:
//
//	go run ./example/screenshots                 # writes docs/screenshots/*.png
//	go run ./example/screenshots -out /tmp/shots
//
// It builds the example, runs it on the in-memory store on a free
// loopback port, and drives chromium as a person would (CHROMIUM names
// the browser if it is not on the PATH). The tests do not need it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	out := flag.String("out", filepath.Join("docs", "screenshots"), "`directory` to write the PNG files to")
	width := flag.Int("width", 1200, "viewport width in CSS pixels")
	flag.Parse()
	if err := run(*out, *width); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(out string, width int) error {
	if _, err := os.Stat(filepath.Join("example", "doc.go")); err != nil {
		return errors.New("run it from the repository root (go run ./example/screenshots)")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	browserPath, err := chromium()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "shop-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	url, stop, err := startShop(tmp)
	if err != nil {
		return err
	}
	defer stop()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browserPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	viewport := chromedp.EmulateViewport(int64(width), 560) // short: a page is as tall as its content
	shot := func(ctx context.Context, name string) error {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
		return nil
	}
	add := func(item, qty string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(url+"/"),
			chromedp.SetValue(chromedp.CSS("#qty-"+item), qty),
			chromedp.Click(chromedp.CSS("#add-"+item)),
			chromedp.WaitVisible(chromedp.CSS("#flashes")),
		)
	}

	// The shop: logged in (remember me), a few things in the cart, the
	// last add's flash on show.
	if err := chromedp.Do(ctx,
		viewport,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.Click(chromedp.CSS("#remember")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#user")),
		add("notebook", "1"),
		add("pen", "1"),
		add("pencil", "2"),
		add("ink", "2"),
	); err != nil {
		return fmt.Errorf("filling the cart: %w", err)
	}
	if err := shot(ctx, "shop.png"); err != nil {
		return err
	}

	// The cart, after the demo's 20 parallel adds.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/cart"),
		chromedp.WaitVisible(chromedp.CSS("#race")),
		chromedp.Click(chromedp.CSS("#race")),
		chromedp.WaitVisible(chromedp.CSS("#race-result")),
	); err != nil {
		return fmt.Errorf("the demo: %w", err)
	}
	if err := shot(ctx, "cart.png"); err != nil {
		return err
	}

	// Devices: alice signs in from a second browser (its own cookies).
	other, cancelOther := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelOther()
	if err := chromedp.Do(other,
		viewport,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#user")),
	); err != nil {
		return fmt.Errorf("the second browser: %w", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/devices"),
		chromedp.WaitVisible(chromedp.CSS("#devices")),
	); err != nil {
		return fmt.Errorf("the devices page: %w", err)
	}
	return shot(ctx, "devices.png")
}

// startShop builds the example into dir, runs it on the in-memory store
// on a free loopback port, and returns its URL and a function that stops
// it.
func startShop(dir string) (string, func(), error) {
	bin := filepath.Join(dir, "example")
	build := exec.Command("go", "build", "-o", bin, "./example")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return "", nil, fmt.Errorf("go build ./example: %w", err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SESSION_STORE=memory://", "SESSION_KEYS=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // the request log
	}()
	select {
	case a := <-addr:
		return "http://" + a, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("the example did not start listening within 30s")
	}
}

// chromium finds the browser: CHROMIUM, or chromium on the PATH.
func chromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed (make deps installs it; or set CHROMIUM)")
}

package main

// Mutations of the example shop (example/): each breaks a behaviour the
// example exists to show, and its HTTP tests must catch it. Those that
// the browser test also covers run its memory case too.
func init() {
	mutations = append(mutations,
		mutation{
			name: "example: remember me ignored (every login lasts the browser session)",
			file: "example/session.go",
			old:  "\ts.RememberMe(remember)\n",
			new:  "\ts.RememberMe(false)\n",
			pkgs: []string{"./example/"}, run: "TestRememberMe|TestBrowser/memory", timeout: "240s",
		},
		mutation{
			name: "example: remember me without its 30-day lifetime",
			file: "example/session.go",
			old:  "\t\ts.SetLifetime(rememberFor)\n",
			new:  "\t\ts.SetLifetime(sessionLifetime)\n",
			pkgs: []string{"./example/"}, run: "TestLoginLifetimes",
		},
		mutation{
			name: "example: cookies persist without remember me (no WithPersist(false))",
			file: "example/app.go",
			old:  "\t\t\tsessions.WithPersist(false),\n",
			new:  "",
			pkgs: []string{"./example/"}, run: "TestRememberMe",
		},
		mutation{
			name: "example: cart add not via Update (read, change, Set: lost updates)",
			file: "example/session.go",
			old:  "\ts.Update(keyCart, func(old any) any {\n\t\tcart, _ := old.(map[string]int)\n\t\tif cart == nil {\n\t\t\tcart = map[string]int{}\n\t\t}\n\t\tfull = cart[id]+qty > maxLineQty\n\t\tif !full {\n\t\t\tcart[id] += qty\n\t\t}\n\t\treturn cart\n\t})\n",
			new:  "\tcart := cartOf(s)\n\tfull = cart[id]+qty > maxLineQty\n\tif !full {\n\t\tcart[id] += qty\n\t}\n\ts.Set(keyCart, cart)\n",
			pkgs: []string{"./example/"}, run: "TestConcurrentCartAdds|TestBrowser/memory", timeout: "240s",
		},
		mutation{
			name: "example: the line limit checked outside the Update function",
			file: "example/session.go",
			old:  "\tfull := false\n\ts.Update(keyCart, func(old any) any {\n\t\tcart, _ := old.(map[string]int)\n\t\tif cart == nil {\n\t\t\tcart = map[string]int{}\n\t\t}\n\t\tfull = cart[id]+qty > maxLineQty\n",
			new:  "\tfull := cartOf(s)[id]+qty > maxLineQty\n\ts.Update(keyCart, func(old any) any {\n\t\tcart, _ := old.(map[string]int)\n\t\tif cart == nil {\n\t\t\tcart = map[string]int{}\n\t\t}\n",
			pkgs: []string{"./example/"}, run: "TestCartLimitHoldsUnderConcurrentAdds",
		},
		mutation{
			name: "example: API logout-others answers without revoking",
			file: "example/devices.go",
			old:  "\tn, err := s.RevokeOthers() // none to sign out for a session without an owner\n",
			new:  "\tn, err := 1, error(nil)\n",
			pkgs: []string{"./example/"}, run: "TestDevicesAPI",
		},
		mutation{
			name: "example: the Devices page's sign-out-others button does not revoke",
			file: "example/devices.go",
			old:  "\t\tn, err := s.RevokeOthers()\n\t\tswitch {",
			new:  "\t\tn, err := 1, error(nil)\n\t\tswitch {",
			pkgs: []string{"./example/"}, run: "TestDevicesPage|TestBrowser/memory", timeout: "240s",
		},
		mutation{
			name: "example: login without SetOwner (no Devices list)",
			file: "example/session.go",
			old:  "if err := s.SetOwner(name); err != nil &&",
			new:  "if err := error(nil); err != nil &&",
			pkgs: []string{"./example/"}, run: "TestDevicesAPI",
		},
		mutation{
			name: "example: login without Renew (session fixation)",
			file: "example/session.go",
			old:  "\ts.Renew()\n",
			new:  "",
			pkgs: []string{"./example/"}, run: "TestAPI",
		},
		mutation{
			name: "example: logout forgets the user but keeps the session",
			file: "example/shop.go",
			old:  "func (a *shop) formLogout(c *gin.Context) {\n\tsessions.Default(c).Destroy()",
			new:  "func (a *shop) formLogout(c *gin.Context) {\n\tsessions.Default(c).Delete(keyUser)",
			pkgs: []string{"./example/"}, run: "TestPage|TestBrowser/memory", timeout: "240s",
		},
		mutation{
			name: "example: flash categories merged (errors shown as info)",
			file: "example/session.go",
			old:  "\ts.AddFlash(msg, category)\n",
			new:  "\ts.AddFlash(msg, flashInfo)\n",
			pkgs: []string{"./example/"}, run: "TestPage|TestCartLimit$|TestBrowser/memory", timeout: "240s",
		},
	)
}

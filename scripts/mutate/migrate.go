package main

// Mutations of migrate/gincontrib, the readers of gin-contrib/sessions'
// stores.

func init() {
	const dir = "migrate/gincontrib/"
	pkg := []string{"./" + dir}
	mutations = append(mutations,
		mutation{
			name: "gincontrib: MAC check skipped (an unverified cookie's payload read)",
			file: dir + "verify.go",
			old:  "err := securecookie.DecodeMulti(name, value, &payload, v.codecs...)\n\tif err != nil {\n\t\treturn opened{}, unverified\n\t}",
			new: "_ = securecookie.DecodeMulti(name, value, &payload, v.codecs...)\n\tif raw, err := base64.URLEncoding.DecodeString(value); err == nil {\n" +
				"\t\tif f := bytes.SplitN(raw, []byte(\"|\"), 3); len(f) == 3 {\n\t\t\tpayload, _ = base64.URLEncoding.DecodeString(string(f[1]))\n\t\t}\n\t}",
			pkgs: pkg, run: "TestFindRefusesWhatDoesNotVerify",
		},
		mutation{
			name: "gincontrib: only the first key pair tried (no rotation)",
			file: dir + "verify.go",
			old:  "DecodeMulti(name, value, &payload, v.codecs...)",
			new:  "DecodeMulti(name, value, &payload, v.codecs[:1]...)",
			pkgs: pkg, run: "TestKeyRotation",
		},
		mutation{
			name: "gincontrib: MaxAge not enforced",
			file: dir + "verify.go",
			old:  "if v.maxAge > 0 && v.now().After(written.Add(v.maxAge)) {",
			new:  "if false {",
			pkgs: pkg, run: "TestMaxAge",
		},
		mutation{
			name: "gincontrib: cookie length not bounded",
			file: dir + "verify.go",
			old:  "if len(value) > maxLen {\n\t\treturn opened{}, unverified\n\t}",
			new:  "",
			pkgs: pkg, run: "TestFindRefusesWhatDoesNotVerify",
		},
		mutation{
			name: "gincontrib: unusable key pairs accepted at construction",
			file: dir + "verify.go",
			old:  "if _, err := sc.Encode(\"k\", []byte{}); err != nil {",
			new:  "if _, err := sc.Encode(\"k\", []byte{}); false {",
			pkgs: pkg, run: "TestConstructorsPanicOnWhatCannotWork",
		},
		mutation{
			name: "gincontrib: a panic while decoding not recovered",
			file: dir + "values.go",
			old:  "if r := recover(); r != nil {",
			new:  "if r := any(nil); r != nil {",
			pkgs: pkg, run: "TestPanicInDecodingIsAnError",
		},
		mutation{
			name: "gincontrib: default flashes left as the _flash value",
			file: dir + "values.go",
			old:  "isFlashes && (ks == flashKey || slices.Contains(categories, ks)) {",
			new:  "isFlashes && slices.Contains(categories, ks) {",
			pkgs: pkg, run: "TestFindCarriesEveryValue",
		},
		mutation{
			name: "gincontrib: undecodable cookie session read as no session",
			file: dir + "cookie.go",
			old:  "return nil, undecodable(fmt.Sprintf(\"cookie store, cookie %q\", r.name), err)",
			new:  "_ = fmt.Sprint(err)\n\t\treturn nil, nil",
			pkgs: pkg, run: "TestUnregisteredGobType/cookie|TestWrongEncryptionKeyIsAnError/cookie",
		},
		mutation{
			name: "gincontrib: redis record gone read as a session",
			file: dir + "redis.go",
			old:  "if ttl.Val() == -2 {\n\t\treturn nil, nil // gone\n\t}",
			new:  "",
			pkgs: pkg, run: "TestRecordGone/redis",
		},
		mutation{
			name: "gincontrib: redis failure swallowed (read as no session)",
			file: dir + "redis.go",
			old:  "return nil, fmt.Errorf(\"gincontrib: redis store: read %q: %w\", key, err)",
			new:  "return nil, nil",
			pkgs: pkg, run: "TestBackendFailureIsAnError/redis",
		},
		mutation{
			name: "gincontrib: redis record size not bounded",
			file: dir + "redis.go",
			old:  "if n := size.Val(); n > int64(r.maxRecord) {",
			new:  "if n := size.Val(); false {",
			pkgs: pkg, run: "TestRecordTooLarge/redis",
		},
		mutation{
			name: "gincontrib: redis Expires ignores the record's TTL",
			file: dir + "redis.go",
			old:  "expires = earliest(expires, r.now().Add(d))",
			new:  "_ = d",
			pkgs: pkg, run: "TestRedisExpiresWithItsRecord",
		},
		mutation{
			name: "gincontrib: redis WithKeyPrefix ignored",
			file: dir + "redis.go",
			old:  "prefix:    c.keyPrefix,",
			new:  "prefix:    DefaultRedisKeyPrefix,",
			pkgs: pkg, run: "TestRedisKeyPrefixAndJSON",
		},
		mutation{
			name: "gincontrib: redis End does not delete the record",
			file: dir + "redis.go",
			old:  "r.client.Del(ctx, r.prefix+l.ID)",
			new:  "r.client.Exists(ctx, r.prefix+l.ID)",
			pkgs: pkg, run: "TestEndDeletesTheRecord/redis",
		},
		mutation{
			name: "gincontrib: memcached record gone read as an error",
			file: dir + "memcached.go",
			old:  "if errors.Is(err, memcache.ErrCacheMiss) {\n\t\treturn nil, nil // gone\n\t}",
			new:  "",
			pkgs: pkg, run: "TestRecordGone/memcached",
		},
		mutation{
			name: "gincontrib: memcached failure swallowed (read as no session)",
			file: dir + "memcached.go",
			old:  "return nil, fmt.Errorf(\"gincontrib: memcached store: get %q: %w\", key, err)",
			new:  "return nil, nil",
			pkgs: pkg, run: "TestBackendFailureIsAnError/memcached",
		},
		mutation{
			name: "gincontrib: memcached record size not bounded",
			file: dir + "memcached.go",
			old:  "if len(item.Value) > r.maxRecord {",
			new:  "if false {",
			pkgs: pkg, run: "TestRecordTooLarge/memcached",
		},
		mutation{
			name: "gincontrib: memcached record that does not verify read as no session",
			file: dir + "memcached.go",
			old:  "return nil, undecodable(fmt.Sprintf(\"memcached store, record %q\", key), errRecordUnverified)",
			new:  "return nil, nil",
			pkgs: pkg, run: "TestCorruptRecordIsAnError/memcached",
		},
		mutation{
			name: "gincontrib: memcached End does not delete the record",
			file: dir + "memcached.go",
			old:  "err := r.client.Delete(r.prefix + l.ID)",
			new:  "_, err := r.client.Get(r.prefix + l.ID)",
			pkgs: pkg, run: "TestEndDeletesTheRecord/memcached",
		},
		mutation{
			name: "gincontrib: memcached End of an ended session is an error",
			file: dir + "memcached.go",
			old:  "if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {",
			new:  "if err != nil {",
			pkgs: pkg, run: "TestEndDeletesTheRecord/memcached",
		},
		mutation{
			name: "gincontrib: WithFlashCategories ignored",
			file: dir + "values.go",
			old:  "(ks == flashKey || slices.Contains(categories, ks))",
			new:  "(ks == flashKey || slices.Contains(categories, \"\"))",
			pkgs: pkg, run: "TestFlashCategories",
		},
		mutation{
			name: "gincontrib: Legacy names no cookie (the middleware cannot expire it at logout)",
			file: dir + "reader.go",
			old:  "Cookie:       r.name,",
			new:  "Cookie:       \"\",",
			pkgs: pkg, run: "TestMigrationThroughTheMiddleware",
		},
		mutation{
			name: "gincontrib: WithExpireCookie ignored",
			file: dir + "reader.go",
			old:  "expireCookie: c.expireCookie,",
			new:  "expireCookie: false,",
			pkgs: pkg, run: "TestOptionsReachTheLegacy",
		},
	)
}

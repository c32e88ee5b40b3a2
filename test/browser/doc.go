// Package browser holds the end-to-end tests of the review site (out/site/)
// in a real headless Chromium: the tests build the bethel binary, build a
// copy of the sample event with it, and check the pages from file:// and
// from `bethel watch --serve`, along with checks that need no browser
// (links resolve, no private value in any file, size).
//
// The browser checks need Chromium (`apt-get install -y chromium` on
// Debian; .ci/run installs it). Without it they fail and say so, unless
// BETHEL_SKIP_BROWSER=1 is set. BETHEL_SCREENSHOTS=DIR keeps the screenshots
// of every page in DIR instead of the test's temporary directory.
//
// The package has no code of its own: everything is in its _test.go files.
package browser

package main

import (
	"os"
	"testing"
)

// TestConfigIsTheSample: the generator writes the sample's field
// declaration and privacy settings, so that a generated workspace is the
// sample's platform at another size.
func TestConfigIsTheSample(t *testing.T) {
	for file, text := range map[string]string{"../../config/fields.toml": fieldsTOML, "../../config/privacy.toml": privacyTOML} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != text {
			t.Errorf("%s differs from the generator's copy", file)
		}
	}
}

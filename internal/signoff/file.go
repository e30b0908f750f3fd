package signoff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxFileBytes bounds one evidence file: room for a screenshot, a log or
// a test report, not for a build artefact. Files live in PostgreSQL.
const MaxFileBytes = 5 << 20

// MaxFileNameLen bounds a file's name as people gave it.
const MaxFileNameLen = 200

// EvidenceFile is a file attached to an item, or to one of its comments.
// Data is nil when only the description was read.
type EvidenceFile struct {
	ID           int64
	DeploymentID int64
	ItemPath     string
	CommentID    int64 // 0: attached to the item itself
	Name         string
	ContentType  string
	Size         int64
	SHA256       string // lowercase hex
	UploadedBy   UserRef
	CreatedAt    time.Time
	Data         []byte
	// Preview is the start of a text file, at most MaxFilePreview bytes,
	// for pages to show (lists read it instead of Data).
	Preview string
}

// MaxFilePreview bounds the text of a file a page shows inline.
const MaxFilePreview = 4096

// Image is whether pages show the file as a picture.
func (f *EvidenceFile) Image() bool { return strings.HasPrefix(f.ContentType, "image/") }

// Text is whether pages show the file's content as text.
func (f *EvidenceFile) Text() bool {
	return strings.HasPrefix(f.ContentType, "text/") || f.ContentType == "application/json"
}

// fileType is one kind of file evidence may be: the extensions that name
// it, the type it is served with, and how its bytes are checked.
type fileType struct {
	contentType string
	exts        []string
	// magic is what http.DetectContentType-style sniffing must find at
	// the start; empty for text, which is checked as UTF-8 instead.
	magic [][]byte
}

// fileTypes is the allow-list. Anything a browser could run as active
// content (HTML, SVG, XML, JavaScript) is absent on purpose, and text is
// always served as text/plain, never as what its bytes look like.
var fileTypes = []fileType{
	{contentType: "image/png", exts: []string{".png"}, magic: [][]byte{[]byte("\x89PNG\r\n\x1a\n")}},
	{contentType: "image/jpeg", exts: []string{".jpg", ".jpeg"}, magic: [][]byte{[]byte("\xff\xd8\xff")}},
	{contentType: "image/gif", exts: []string{".gif"}, magic: [][]byte{[]byte("GIF87a"), []byte("GIF89a")}},
	{contentType: "image/webp", exts: []string{".webp"}},
	{contentType: "application/pdf", exts: []string{".pdf"}, magic: [][]byte{[]byte("%PDF-")}},
	{contentType: "text/plain; charset=utf-8", exts: []string{".txt", ".log", ".md", ".out", ".diff", ".patch", ".yaml", ".yml"}},
	{contentType: "text/csv; charset=utf-8", exts: []string{".csv"}},
	{contentType: "application/json", exts: []string{".json"}},
}

// AllowedFileExtensions lists what an upload may be called, for forms'
// accept attribute and error messages.
func AllowedFileExtensions() []string {
	var out []string
	for _, t := range fileTypes {
		out = append(out, t.exts...)
	}
	return out
}

// CheckFile validates an upload and says what it is: its cleaned name,
// the content type it will be served with, its SHA-256. The type comes
// from the allow-list by the name's extension, and the bytes must be what
// the name says (a PNG starts as one; text is UTF-8 without NUL bytes),
// so a page disguised as a picture is refused rather than stored.
func CheckFile(name string, data []byte) (clean, contentType, sum string, err error) {
	clean = CleanFileName(name)
	if clean == "" {
		return "", "", "", Errorf(EINVALID, "The file needs a name.")
	}
	if len(data) == 0 {
		return "", "", "", Errorf(EINVALID, "The file %s is empty.", clean)
	}
	if len(data) > MaxFileBytes {
		return "", "", "", Errorf(ETOOLARGE, "The file %s is %s; files may be at most %s.", clean, FormatBytes(int64(len(data))), FormatBytes(MaxFileBytes))
	}
	ext := strings.ToLower(path.Ext(clean))
	var ft *fileType
	for i := range fileTypes {
		for _, e := range fileTypes[i].exts {
			if e == ext {
				ft = &fileTypes[i]
			}
		}
	}
	if ft == nil {
		return "", "", "", Errorf(EUNSUPPORTED, "Files of type %q cannot be attached; allowed: %s.", ext, strings.Join(AllowedFileExtensions(), " "))
	}
	if !ft.matches(data) {
		return "", "", "", Errorf(EUNSUPPORTED, "The file %s is not the %s its name says it is.", clean, strings.TrimPrefix(ext, "."))
	}
	h := sha256.Sum256(data)
	return clean, ft.contentType, hex.EncodeToString(h[:]), nil
}

func (t *fileType) matches(data []byte) bool {
	switch {
	case t.contentType == "image/webp":
		return len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP"))
	case len(t.magic) > 0:
		for _, m := range t.magic {
			if bytes.HasPrefix(data, m) {
				return true
			}
		}
		return false
	}
	return utf8.Valid(data) && bytes.IndexByte(data, 0) < 0
}

// CleanFileName keeps a file name's last element, without control
// characters, quotes or path separators, at most MaxFileNameLen bytes.
func CleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '/' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > MaxFileNameLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// FormatBytes writes a size as people read it: 812 B, 14 KB, 2.1 MB.
func FormatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return itoa(n) + " B"
	case n < 1<<20:
		return itoa((n+512)>>10) + " KB"
	}
	tenths := (n*10 + 1<<19) >> 20
	return itoa(tenths/10) + "." + itoa(tenths%10) + " MB"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

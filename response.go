package sessions

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// ErrHeaderWritten is recorded (with c.Error) when a handler changes a
// session in a way that needs a new cookie after the response header
// has already gone out; the change is not saved.
var ErrHeaderWritten = errors.New("sessions: session changed after the response header was written")

// finish runs when the handler chain returned: it commits, or answers with
// the error handler, if nothing of the response went out yet; otherwise it
// saves what the handler changed after the header (no cookie can change
// any more).
func (s *Session) finish() {
	if s.resp == open && !s.w.ResponseWriter.Written() {
		s.beforeWrite()
		return
	}
	if s.resp != answered {
		if err := s.commit(); err != nil {
			_ = s.c.Error(err)
		}
	}
}

// done restores Gin's writer. After a panic in the chain (the chain did
// not return) nothing more is saved or written through the session.
func (s *Session) done(returned *bool) {
	if !*returned {
		s.resp = answered
	}
	s.c.Writer = s.w.ResponseWriter
}

// beforeWrite runs before anything of the response goes out. On the first
// write it commits the session (open becomes committed), or answers with
// the error handler if that fails or an earlier Save failed and the status
// is a success. It reports whether the write may go on.
func (s *Session) beforeWrite() bool {
	switch s.resp {
	case committed, answering:
		return true
	case answered:
		return false
	}
	if s.data == saveFailed && s.w.ResponseWriter.Status() < 400 {
		s.fail(s.err)
		return false
	}
	if err := s.commit(); err != nil {
		s.fail(err)
		return false
	}
	s.resp = committed
	return true
}

// fail answers the request with the error handler (open becomes answering,
// then answered), or aborts it if its header already went out.
func (s *Session) fail(err error) {
	s.errHandled = true
	s.failSave(err)
	_ = s.c.Error(err)
	if s.resp != open || s.w.ResponseWriter.Written() {
		if s.resp == open {
			s.resp = committed
		}
		s.c.Abort()
		return
	}
	// The error handler answers instead of the handler: drop what described
	// the handler's response, and our own cookie (unless a Renew whose
	// outcome is unknown must give the browser its new ID).
	h := s.w.ResponseWriter.Header()
	for _, k := range droppedHeaders {
		h.Del(k)
	}
	if !s.keepCookie {
		s.dropCookie(h)
	}
	if s.ops&opDestroy != 0 && s.clientCookie {
		// A logout whose store failed: the browser forgets the session
		// all the same (the record expires on its own, or stays until
		// the store is back: the answer says the logout failed).
		_ = s.setCookie("", -1)
	}
	s.resp = answering
	s.m.cfg.errorHandler(s.c, err)
	if !s.w.ResponseWriter.Written() && s.w.ResponseWriter.Status() < 400 {
		// An error handler that answered nothing, or a success: never let
		// a failed session reach the client as a success.
		s.w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	}
	s.resp = answered
	s.c.Abort()
}

// responseWriter commits the session just before the response header goes
// out.
type responseWriter struct {
	gin.ResponseWriter
	s *Session
}

func (w *responseWriter) WriteHeader(code int) {
	if w.s.resp == answered {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) WriteHeaderNow() {
	if w.s.beforeWrite() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// ErrAnswered is returned to a handler's writes after the session's error
// handler has answered the request (a load or save failed): the handler's
// own response is dropped. Gin records it in c.Errors, beside the cause.
var ErrAnswered = errors.New("sessions: the session error handler already answered this request")

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.s.beforeWrite() {
		return 0, ErrAnswered
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) WriteString(str string) (int, error) {
	if !w.s.beforeWrite() {
		return 0, ErrAnswered
	}
	return w.ResponseWriter.WriteString(str)
}

func (w *responseWriter) Flush() {
	if w.s.beforeWrite() {
		w.ResponseWriter.Flush()
	}
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.s.beforeWrite() {
		return nil, nil, ErrAnswered
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

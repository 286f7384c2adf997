// Command example is the Flask session tutorial done right with Gin and
// sessionware: log in, fill a cart, log out. Run it with go run ./example.
package main

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

func main() {
	store := memory.New()
	defer store.Close()
	r := gin.Default()
	r.Use(sessions.Sessions("session", store))
	r.POST("/api/login", func(c *gin.Context) {
		var in struct {
			Username string `json:"username" binding:"required"`
		}
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "username required"})
			return
		}
		s := sessions.Default(c)
		s.Renew()
		s.Set("user", in.Username)
		c.JSON(http.StatusOK, gin.H{"user": in.Username})
	})
	r.POST("/api/cart", func(c *gin.Context) {
		var in struct {
			Item string `json:"item" binding:"required"`
			Qty  int    `json:"qty" binding:"required,min=1,max=1000"`
		}
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "item and qty (1-1000) required"})
			return
		}
		s := sessions.Default(c)
		s.Update("cart", func(old any) any {
			cart, _ := old.(map[string]int)
			if cart == nil {
				cart = map[string]int{}
			}
			cart[in.Item] += in.Qty
			return cart
		})
		cart, _ := sessions.Get[map[string]int](s, "cart")
		c.JSON(http.StatusOK, gin.H{"cart": cart})
	})
	r.GET("/api/session", func(c *gin.Context) {
		s := sessions.Default(c)
		cart, _ := sessions.Get[map[string]int](s, "cart")
		c.JSON(http.StatusOK, gin.H{"user": s.Get("user"), "cart": cart})
	})
	r.POST("/api/logout", func(c *gin.Context) {
		sessions.Default(c).Destroy()
		c.JSON(http.StatusOK, gin.H{})
	})
	log.Fatal(r.Run(":8080"))
}

//go:build tools

// Package tools pins modules that are not yet imported elsewhere.
package tools

import (
	_ "github.com/Masterminds/squirrel"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/labstack/echo/v4"
	_ "github.com/lestrrat-go/jwx/v3/jwk"
	_ "github.com/lestrrat-go/jwx/v3/jwt"
	_ "github.com/patrickmn/go-cache"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/testcontainers/testcontainers-go/modules/postgres"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/sync/singleflight"
	_ "gopkg.in/yaml.v3"
)

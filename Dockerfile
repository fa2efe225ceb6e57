# fortistream worker image: `docker compose up -d` (docker-compose.yml) runs it beside a Redis.
# Build: docker build -t fortistream .   Run: docker run --rm -p 5514:5514/udp -p 5514:5514/tcp \
#   -e REDIS_URL=redis://redis.example:6379 fortistream
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY pipelines ./pipelines
COPY samples ./samples
# The spool (when the pipeline enables one) and keyrings/token files are mounted volumes.
USER node
EXPOSE 5514/udp 5514/tcp 6514/tcp 8080/tcp
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["run", "--pipeline", "pipelines/default.yaml"]

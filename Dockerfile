# ragspace server image: Node 20, production dependencies only, sources run through tsx
# (there is no build step). Used by docker-compose.yml; see docs/postgres.md.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src

# File storage (WORKING_DIR) lives in a volume owned by the unprivileged user.
RUN mkdir -p /data/rag_storage && chown -R node:node /data
USER node

ENV HOST=0.0.0.0 PORT=9621 WORKING_DIR=/data/rag_storage
EXPOSE 9621
CMD ["node", "bin/ragspace.js", "serve"]
